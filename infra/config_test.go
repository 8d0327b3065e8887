package infra_test

import (
	"strings"
	"testing"

	"github.com/elevate-jit/elevate/infra"
)

func getter(m map[string]any) func(string) any { return func(k string) any { return m[k] } }

func TestConfigDefaults(t *testing.T) {
	c, err := infra.ConfigFromContext(getter(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Placeholder || c.IdentityCenterInstanceARN != infra.PlaceholderInstanceARN || c.IdentityStoreID != infra.PlaceholderIdentityStoreID {
		t.Errorf("no context: %+v, want the placeholders", c)
	}
	if c.ApprovalWindowSeconds != 86400 || c.SweeperRateMinutes != 5 || c.LogRetentionDays != 30 || c.BinDir != "bin" ||
		c.APIThrottleRate != infra.DefaultThrottleRate || c.APIThrottleBurst != infra.DefaultThrottleBurst || c.AlarmTopicARN != "" {
		t.Errorf("defaults: %+v", c)
	}
	// A new account's concurrency quota leaves nothing to reserve.
	if c.ReservedConcurrency != 0 {
		t.Errorf("ReservedConcurrency = %d by default, want 0 (none)", c.ReservedConcurrency)
	}
	// A first deployment that fails must be able to delete its table.
	if c.TableDeletionProtection {
		t.Error("TableDeletionProtection is on by default")
	}
	if c.InstanceID() != "ssoins-0000000000000000" {
		t.Errorf("InstanceID() = %s", c.InstanceID())
	}
}

func TestConfigReadsCLIAndJSONValues(t *testing.T) {
	for name, ctx := range map[string]map[string]any{
		// -c key=value gives strings.
		"cli": {
			infra.CtxInstanceARN: testInstanceARN, infra.CtxIdentityStoreID: testStoreID,
			infra.CtxProtectedAccounts: " 111111111111, 222222222222,111111111111", infra.CtxApprovalWindow: "3600",
			infra.CtxSweeperRate: "10", infra.CtxThrottleRate: "12.5", infra.CtxThrottleBurst: "25",
			infra.CtxLogRetentionDays: "90", infra.CtxAlarmTopicARN: "arn:aws:sns:eu-west-1:123456789012:ops",
			infra.CtxRequireConfig: "true", infra.CtxLogLevel: "debug", infra.CtxReservedConcurrency: "12",
			infra.CtxTableDeletionProtection: "true",
		},
		// cdk.json gives JSON values.
		"cdk.json": {
			infra.CtxInstanceARN: testInstanceARN, infra.CtxIdentityStoreID: testStoreID,
			infra.CtxProtectedAccounts: []any{"111111111111", "222222222222"}, infra.CtxApprovalWindow: 3600.0,
			infra.CtxSweeperRate: 10.0, infra.CtxThrottleRate: 12.5, infra.CtxThrottleBurst: 25.0,
			infra.CtxLogRetentionDays: 90.0, infra.CtxAlarmTopicARN: "arn:aws:sns:eu-west-1:123456789012:ops",
			infra.CtxRequireConfig: true, infra.CtxLogLevel: "debug", infra.CtxReservedConcurrency: 12.0,
			infra.CtxTableDeletionProtection: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := infra.ConfigFromContext(getter(ctx))
			if err != nil {
				t.Fatal(err)
			}
			if c.Placeholder || c.IdentityCenterInstanceARN != testInstanceARN || c.IdentityStoreID != testStoreID {
				t.Errorf("identity center: %+v", c)
			}
			if strings.Join(c.ProtectedAccounts, ",") != "111111111111,222222222222" {
				t.Errorf("ProtectedAccounts = %v", c.ProtectedAccounts)
			}
			if c.ApprovalWindowSeconds != 3600 || c.SweeperRateMinutes != 10 || c.APIThrottleRate != 12.5 ||
				c.APIThrottleBurst != 25 || c.LogRetentionDays != 90 || c.AlarmTopicARN == "" || c.LogLevel != "debug" ||
				c.ReservedConcurrency != 12 || !c.TableDeletionProtection {
				t.Errorf("values: %+v", c)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	valid := func() map[string]any {
		return map[string]any{infra.CtxInstanceARN: testInstanceARN, infra.CtxIdentityStoreID: testStoreID}
	}
	for _, tc := range []struct {
		name string
		key  string
		val  any
		want string
	}{
		{"instance ARN", infra.CtxInstanceARN, "arn:aws:sso:::instance/nope", "not an Identity Center instance ARN"},
		{"store id", infra.CtxIdentityStoreID, "d-XYZ", "not an identity store id"},
		{"protected account", infra.CtxProtectedAccounts, "12345", `"12345" is not a 12-digit account id`},
		{"protected accounts type", infra.CtxProtectedAccounts, 5.0, "want a comma-separated string"},
		{"approval window", infra.CtxApprovalWindow, "10", "outside 60 to 31536000"},
		{"approval window not a number", infra.CtxApprovalWindow, "a day", "want a whole number"},
		{"approval window fraction", infra.CtxApprovalWindow, 90.5, "want a whole number"},
		{"sweeper", infra.CtxSweeperRate, "0", "outside 1 to 1440"},
		{"topic", infra.CtxAlarmTopicARN, "ops", "not an SNS topic ARN"},
		{"rate", infra.CtxThrottleRate, "-1", "outside (0, 10000]"},
		{"burst", infra.CtxThrottleBurst, "0", "outside 1 to 5000"},
		{"retention", infra.CtxLogRetentionDays, "31", "is not one of [1 3 5 7 14 30"},
		{"role", infra.CtxRDSLookupRole, "arn:aws:iam::1:role/x", "not an IAM role name"},
		{"key", infra.CtxIdentityCenterKey, "alias/x", "not a KMS key ARN"},
		{"log level", infra.CtxLogLevel, "loud", "not one of debug"},
		{"reserved concurrency too small to split", infra.CtxReservedConcurrency, "2", "neither 0 (reserve none) nor 3 to 1000"},
		{"reserved concurrency negative", infra.CtxReservedConcurrency, -1.0, "neither 0"},
		{"reserved concurrency not a number", infra.CtxReservedConcurrency, "ten", "want a whole number"},
		{"require", infra.CtxRequireConfig, "yes please", "want true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := valid()
			ctx[tc.key] = tc.val
			_, err := infra.ConfigFromContext(getter(ctx))
			if err == nil || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one naming %s: %s", err, tc.key, tc.want)
			}
		})
	}
}

func TestConfigRequiresRealIdentityCenter(t *testing.T) {
	for name, ctx := range map[string]map[string]any{
		"missing":      {infra.CtxRequireConfig: "true"},
		"placeholders": {infra.CtxRequireConfig: "true", infra.CtxInstanceARN: infra.PlaceholderInstanceARN, infra.CtxIdentityStoreID: infra.PlaceholderIdentityStoreID},
		"half":         {infra.CtxInstanceARN: testInstanceARN},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := infra.ConfigFromContext(getter(ctx))
			if err == nil || !strings.Contains(err.Error(), infra.CtxIdentityStoreID) {
				t.Errorf("error = %v, want one about %s", err, infra.CtxIdentityStoreID)
			}
		})
	}
}
