// Package console is Elevate's web console: plain HTML, CSS and one ES
// module, embedded in the binary and served at / and /console/ beside the
// API (elevate serve) and by the console function in the stack, on the same
// origin as the API. It adds no privileged path: the page calls the public
// API with the signed-in person's own credential.
//
// Assets are served under names that carry a hash of their content, with a
// year-long immutable cache; the HTML page, which names them, is never
// cached. Every answer carries the same strict Content-Security-Policy.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/elevate-jit/elevate/internal/api/httpcall"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every console answer: scripts and
// styles only from the console's own files (no inline script or style),
// calls to the API (same origin) and to identity providers over https (the
// OIDC discovery document and token endpoint are the tenant's, unknown when
// the console is built), and no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self' https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// AssetPrefix is where the hashed assets are served.
const AssetPrefix = "/console/assets/"

// contentType is the type of a console file, by extension. The types are
// written out rather than read from the host's MIME database
// (mime.TypeByExtension), which reads and parses /etc/mime.types on first
// use: 1.8 ms of the console function's cold start on the machine it was
// measured on, and answers that would depend on the machine.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".js":
		return "text/javascript; charset=utf-8", true
	case ".css":
		return "text/css; charset=utf-8", true
	case ".svg":
		return "image/svg+xml", true
	case ".png":
		return "image/png", true
	case ".ico":
		return "image/x-icon", true
	}
	return "", false
}

type asset struct {
	body        []byte
	contentType string
}

// Console serves the console. Build it with New.
type Console struct {
	index  []byte
	assets map[string]asset // by hashed name
	names  map[string]string
}

// New builds the console from its embedded files.
func New() *Console {
	c := &Console{assets: map[string]asset{}, names: map[string]string{}}
	var page []byte
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		if name == "index.html" {
			page = b
			return nil
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ct, ok := contentType(ext)
		if !ok {
			return fmt.Errorf("%s: no content type for %q files", p, ext)
		}
		c.assets[hashed] = asset{body: b, contentType: ct}
		c.names[name] = hashed
		return nil
	})
	if err != nil || page == nil {
		panic("console: embedded assets are broken: " + errString(err))
	}
	// The page names its assets as {{name}}; they become hashed paths.
	for name, hashed := range c.names {
		page = bytes.ReplaceAll(page, []byte("{{"+name+"}}"), []byte(AssetPrefix+hashed))
	}
	c.index = page
	return c
}

func errString(err error) string {
	if err == nil {
		return "no index.html"
	}
	return err.Error()
}

// AssetPath is the hashed path of an asset ("app.js"), or "".
func (c *Console) AssetPath(name string) string {
	if h, ok := c.names[name]; ok {
		return AssetPrefix + h
	}
	return ""
}

// Serves reports whether the console answers this path: / and everything
// under /console/.
func Serves(p string) bool {
	return p == "/" || p == "/console" || strings.HasPrefix(p, "/console/")
}

// ServeHTTP answers GET and HEAD of / and /console/...: an asset by its
// hashed name, and the page for every other path (the console routes in the
// page itself).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	p := r.URL.Path
	if !Serves(p) {
		httpcall.WriteError(w, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+p)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		httpcall.WriteError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+p+"; allowed: GET, HEAD")
		return
	}
	if name, ok := strings.CutPrefix(p, AssetPrefix); ok {
		a, found := c.assets[name]
		if !found {
			h.Set("Cache-Control", "no-store")
			httpcall.WriteError(w, http.StatusNotFound, "not_found", "no console asset "+name)
			return
		}
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		_, _ = w.Write(a.body)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(c.index)
}
