package infra_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/elevate-jit/elevate/infra"
)

// TestSynthWithoutContext is `cdk synth` on a developer's machine: the
// placeholders stand in, with a warning, and cdk-nag still passes.
func TestSynthWithoutContext(t *testing.T) {
	f, err := build(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if !f.stack.Config.Placeholder {
		t.Error("no context, but no placeholders")
	}
	a := assertions.Annotations_FromStack(f.stack.Stack)
	must(t, "placeholder warning", func() {
		a.HasWarning(jsii.String("/Elevate"), assertions.Match_StringLikeRegexp(jsii.String("development placeholders")))
	})
	if errs := a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))); len(*errs) > 0 {
		t.Errorf("%d cdk-nag errors without context", len(*errs))
	}
}

func TestBuildRefuses(t *testing.T) {
	ctx, err := cdkJSONContext()
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		context map[string]any
		want    string
	}{
		"missing binaries":  {map[string]any{infra.CtxBinDir: t.TempDir()}, "run `make build` first"},
		"placeholders":      {map[string]any{infra.CtxRequireConfig: "true"}, infra.CtxInstanceARN + ": required"},
		"bad stack name":    {map[string]any{infra.CtxStackName: "1nvalid_name"}, "stack name"},
		"malformed context": {map[string]any{infra.CtxSweeperRate: "often"}, infra.CtxSweeperRate},
	} {
		t.Run(name, func(t *testing.T) {
			c := map[string]any{}
			for k, v := range ctx {
				c[k] = v
			}
			bin, err := dummyBinaries()
			if err != nil {
				t.Fatal(err)
			}
			c[infra.CtxBinDir] = bin
			for k, v := range tc.context {
				c[k] = v
			}
			_, err = infra.Build(awscdk.NewApp(&awscdk.AppProps{Context: &c, Outdir: jsii.String(t.TempDir())}), "..")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
