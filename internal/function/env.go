package function

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/elevate-jit/elevate/internal/deploy"
)

// env reads a function's environment: only the variables the contract gives
// it (deploy.Variables), collecting the names of missing required ones so
// that one start-up error names them all.
type env struct {
	getenv  func(string) string
	vars    map[string]deploy.Variable
	missing []string
	foreign []string
}

func newEnv(fn deploy.Function, getenv func(string) string) *env {
	e := &env{getenv: getenv, vars: map[string]deploy.Variable{}}
	for _, v := range fn.Variables() {
		e.vars[v.Name] = v
	}
	return e
}

// get returns a variable's value; "" for an optional variable that is not
// set.
func (e *env) get(name string) string {
	v, ok := e.vars[name]
	if !ok {
		e.foreign = append(e.foreign, name)
		return ""
	}
	value := e.getenv(name)
	if value == "" && !v.Optional {
		e.missing = append(e.missing, name)
	}
	return value
}

// float returns an optional variable's value as a positive number, or def.
func (e *env) float(name string, def float64) (float64, error) {
	v := e.get(name)
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive number", name, v)
	}
	return f, nil
}

// integer reads a positive whole-number variable; a missing one is
// reported by err and reads as 0.
func (e *env) integer(name string) (int, error) {
	v := e.get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive whole number", name, v)
	}
	return n, nil
}

// err reports the variables that were missing, or read without the
// contract giving them to the function (a wiring mistake).
func (e *env) err() error {
	if len(e.foreign) > 0 {
		return fmt.Errorf("the wiring reads %s, which deploy.Variables does not give this function", strings.Join(e.foreign, ", "))
	}
	if len(e.missing) > 0 {
		return fmt.Errorf("missing environment variable(s) %s", strings.Join(e.missing, ", "))
	}
	return nil
}
