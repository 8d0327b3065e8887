package infra

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
)

// Context keys: what a deployment sets with `-c key=value` or in the
// "context" block of cdk.json (docs/deploy.md).
const (
	CtxInstanceARN       = "identityCenterInstanceArn"
	CtxIdentityStoreID   = "identityStoreId"
	CtxProtectedAccounts = "protectedAccounts"
	CtxApprovalWindow    = "approvalWindowSeconds"
	CtxSweeperRate       = "sweeperRate"
	CtxAlarmTopicARN     = "alarmTopicArn"
	CtxThrottleRate      = "apiThrottleRate"
	CtxThrottleBurst     = "apiThrottleBurst"
	CtxLogRetentionDays  = "logRetentionDays"
	CtxBinDir            = "binDir"
	CtxRDSLookupRole     = "rdsLookupRole"
	CtxIdentityCenterKey = "identityCenterKmsKeyArn"
	CtxLogLevel          = "logLevel"
	CtxJWKSAllowedHosts  = "jwksAllowedHosts"
	// CtxReservedConcurrency reserves Lambda concurrency for the functions
	// that change Identity Center (Reservations); 0 reserves none.
	CtxReservedConcurrency = "reservedConcurrency"
	// CtxTableDeletionProtection turns on the table's deletion protection
	// (off by default, so that a failed first deployment rolls back).
	CtxTableDeletionProtection = "tableDeletionProtection"
	// CtxRequireConfig makes the placeholders for the Identity Center
	// instance and identity store an error; `make deploy` sets it.
	CtxRequireConfig = "requireConfig"
)

// Placeholders that let `cdk synth` run with no context at all. A stack
// built with them deploys but cannot provision anything; `make deploy`
// refuses them (CtxRequireConfig).
const (
	PlaceholderInstanceARN     = "arn:aws:sso:::instance/ssoins-0000000000000000"
	PlaceholderIdentityStoreID = "d-0000000000"
)

// Config is a deployment's settings, read from the CDK context.
type Config struct {
	// IdentityCenterInstanceARN is the only Identity Center instance the
	// functions may touch.
	IdentityCenterInstanceARN string
	// IdentityStoreID is the instance's identity store.
	IdentityStoreID string
	// ProtectedAccounts no grant may target, besides the organization's
	// management account and the deploying account, which the stack adds.
	ProtectedAccounts []string
	// ApprovalWindowSeconds is the default approval window the CLI gives new
	// tenants (a stack output; each tenant can change its own).
	ApprovalWindowSeconds int
	// SweeperRateMinutes is how often the sweeper runs.
	SweeperRateMinutes int
	// AlarmTopicARN receives the alarms; empty means a topic the stack creates.
	AlarmTopicARN string
	// APIThrottleRate (requests per second, steady) and APIThrottleBurst
	// throttle the API's default stage.
	APIThrottleRate  float64
	APIThrottleBurst int
	// LogRetentionDays keeps the functions', the API's and the state
	// machine's logs; one of the values CloudWatch Logs accepts.
	LogRetentionDays int
	// BinDir holds <function>/bootstrap for every function (make build).
	// A relative path is relative to the repository root.
	BinDir string
	// RDSLookupRole is the name (optionally with a path) of a role in the
	// member accounts that the provisioning functions assume to look up RDS
	// instances; empty means none.
	RDSLookupRole string
	// IdentityCenterKMSKeyARN is the customer managed KMS key Identity
	// Center encrypts with, if it uses one; empty means an AWS owned key.
	IdentityCenterKMSKeyARN string
	// LogLevel sets ELEVATE_LOG_LEVEL on every function when not empty.
	LogLevel string
	// JWKSAllowedHosts, when set, are the only identity provider hosts
	// tenants' JWKS URLs may name (ELEVATE_JWKS_ALLOWED_HOSTS).
	JWKSAllowedHosts []string
	// ReservedConcurrency is the concurrency reserved in total for the
	// functions that change Identity Center, 0 (none) or 3 to 1000. Lambda
	// keeps 100 of the account's quota unreserved, so reserving needs a
	// quota of at least 100 plus this and any other reservations.
	ReservedConcurrency int
	// TableDeletionProtection turns on the table's deletion protection. A
	// first deployment must not: CloudFormation could not delete the table
	// when the creation rolls back.
	TableDeletionProtection bool
	// Placeholder is true when the Identity Center settings are the
	// development placeholders.
	Placeholder bool
}

// Defaults.
const (
	DefaultApprovalWindowSeconds = 86400
	DefaultSweeperRateMinutes    = 5
	DefaultThrottleRate          = 50
	DefaultThrottleBurst         = 100
	DefaultLogRetentionDays      = 30
	DefaultBinDir                = "bin"
	// DefaultReservedConcurrency reserves nothing: a new account's quota
	// (often 10) leaves nothing to reserve, and reserving would fail the
	// deployment.
	DefaultReservedConcurrency = 0
)

// retention maps the day counts CloudWatch Logs accepts to CDK's enum.
var retention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// Retention is the CDK retention for c.LogRetentionDays (validated).
func (c Config) Retention() awslogs.RetentionDays { return retention[c.LogRetentionDays] }

var (
	instanceARNPattern = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	storeIDPattern     = regexp.MustCompile(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	accountPattern     = regexp.MustCompile(`^[0-9]{12}$`)
	topicARNPattern    = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
	kmsKeyARNPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$`)
	roleNamePattern    = regexp.MustCompile(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	logLevelPattern    = regexp.MustCompile(`^(?i:debug|info|warn|error)$`)
)

// InstanceID is the "ssoins-…" part of the instance ARN.
func (c Config) InstanceID() string {
	_, id, _ := strings.Cut(c.IdentityCenterInstanceARN, "instance/")
	return id
}

// ConfigFromContext reads and validates the deployment's settings. get is
// the CDK context lookup (Node().TryGetContext); values may be strings (from
// `-c`) or JSON values (from cdk.json). Every malformed value is reported,
// each with its key.
func ConfigFromContext(get func(key string) any) (Config, error) {
	c := Config{
		ApprovalWindowSeconds: DefaultApprovalWindowSeconds,
		SweeperRateMinutes:    DefaultSweeperRateMinutes,
		APIThrottleRate:       DefaultThrottleRate,
		APIThrottleBurst:      DefaultThrottleBurst,
		LogRetentionDays:      DefaultLogRetentionDays,
		BinDir:                DefaultBinDir,
		ReservedConcurrency:   DefaultReservedConcurrency,
	}
	r := reader{get: get}
	c.IdentityCenterInstanceARN = r.str(CtxInstanceARN)
	c.IdentityStoreID = r.str(CtxIdentityStoreID)
	c.ProtectedAccounts = r.list(CtxProtectedAccounts)
	r.integer(CtxApprovalWindow, &c.ApprovalWindowSeconds)
	r.integer(CtxSweeperRate, &c.SweeperRateMinutes)
	c.AlarmTopicARN = r.str(CtxAlarmTopicARN)
	r.number(CtxThrottleRate, &c.APIThrottleRate)
	r.integer(CtxThrottleBurst, &c.APIThrottleBurst)
	r.integer(CtxLogRetentionDays, &c.LogRetentionDays)
	if s := r.str(CtxBinDir); s != "" {
		c.BinDir = s
	}
	c.RDSLookupRole = r.str(CtxRDSLookupRole)
	c.IdentityCenterKMSKeyARN = r.str(CtxIdentityCenterKey)
	c.LogLevel = r.str(CtxLogLevel)
	c.JWKSAllowedHosts = r.list(CtxJWKSAllowedHosts)
	r.integer(CtxReservedConcurrency, &c.ReservedConcurrency)
	r.boolean(CtxTableDeletionProtection, &c.TableDeletionProtection)
	require := false
	r.boolean(CtxRequireConfig, &require)

	if c.IdentityCenterInstanceARN == "" && c.IdentityStoreID == "" && !require {
		c.IdentityCenterInstanceARN, c.IdentityStoreID, c.Placeholder = PlaceholderInstanceARN, PlaceholderIdentityStoreID, true
	}
	errs := append(r.errs, c.validate(require)...)
	if len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, err := range errs {
			lines[i] = "  " + err.Error()
		}
		return Config{}, fmt.Errorf("invalid context (set with -c key=value or in cdk.json; see docs/deploy.md):\n%s", strings.Join(lines, "\n"))
	}
	return c, nil
}

func (c Config) validate(require bool) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch {
	case c.IdentityCenterInstanceARN == "":
		bad(CtxInstanceARN, "required (the ARN of the organization's IAM Identity Center instance, arn:aws:sso:::instance/ssoins-…)")
	case !instanceARNPattern.MatchString(c.IdentityCenterInstanceARN):
		bad(CtxInstanceARN, "%q is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-<16 characters>)", c.IdentityCenterInstanceARN)
	case require && c.IdentityCenterInstanceARN == PlaceholderInstanceARN:
		bad(CtxInstanceARN, "is the development placeholder; set the real instance ARN")
	}
	switch {
	case c.IdentityStoreID == "":
		bad(CtxIdentityStoreID, "required (the identity store id of the Identity Center instance, d-…)")
	case !storeIDPattern.MatchString(c.IdentityStoreID):
		bad(CtxIdentityStoreID, "%q is not an identity store id (d- and 10 hex digits, or a UUID)", c.IdentityStoreID)
	case require && c.IdentityStoreID == PlaceholderIdentityStoreID:
		bad(CtxIdentityStoreID, "is the development placeholder; set the real identity store id")
	}
	for _, a := range c.ProtectedAccounts {
		if !accountPattern.MatchString(a) {
			bad(CtxProtectedAccounts, "%q is not a 12-digit account id", a)
		}
	}
	// Step Functions keeps a Standard execution for at most a year.
	if c.ApprovalWindowSeconds < 60 || c.ApprovalWindowSeconds > 365*24*3600 {
		bad(CtxApprovalWindow, "%d is outside 60 to 31536000 seconds", c.ApprovalWindowSeconds)
	}
	if c.SweeperRateMinutes < 1 || c.SweeperRateMinutes > 1440 {
		bad(CtxSweeperRate, "%d is outside 1 to 1440 minutes", c.SweeperRateMinutes)
	}
	if c.AlarmTopicARN != "" && !topicARNPattern.MatchString(c.AlarmTopicARN) {
		bad(CtxAlarmTopicARN, "%q is not an SNS topic ARN", c.AlarmTopicARN)
	}
	if !(c.APIThrottleRate > 0) || c.APIThrottleRate > 10000 {
		bad(CtxThrottleRate, "%v is outside (0, 10000] requests per second", c.APIThrottleRate)
	}
	if c.APIThrottleBurst < 1 || c.APIThrottleBurst > 5000 {
		bad(CtxThrottleBurst, "%d is outside 1 to 5000 requests", c.APIThrottleBurst)
	}
	if _, ok := retention[c.LogRetentionDays]; !ok {
		days := make([]int, 0, len(retention))
		for d := range retention {
			days = append(days, d)
		}
		slices.Sort(days)
		bad(CtxLogRetentionDays, "%d is not one of %v", c.LogRetentionDays, days)
	}
	if c.RDSLookupRole != "" && !roleNamePattern.MatchString(c.RDSLookupRole) {
		bad(CtxRDSLookupRole, "%q is not an IAM role name (optionally with a path, such as elevate/rds-lookup)", c.RDSLookupRole)
	}
	if c.IdentityCenterKMSKeyARN != "" && !kmsKeyARNPattern.MatchString(c.IdentityCenterKMSKeyARN) {
		bad(CtxIdentityCenterKey, "%q is not a KMS key ARN", c.IdentityCenterKMSKeyARN)
	}
	if c.ReservedConcurrency != 0 && (c.ReservedConcurrency < 3 || c.ReservedConcurrency > 1000) {
		bad(CtxReservedConcurrency, "%d is neither 0 (reserve none) nor 3 to 1000", c.ReservedConcurrency)
	}
	if c.LogLevel != "" && !logLevelPattern.MatchString(c.LogLevel) {
		bad(CtxLogLevel, "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	return errs
}

// reader converts context values, remembering what it could not read.
type reader struct {
	get  func(string) any
	errs []error
}

func (r *reader) fail(key string, v any, want string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s, not %s", key, want, show(v)))
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func (r *reader) str(key string) string {
	switch v := r.get(key).(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		r.fail(key, v, "want a string")
		return ""
	}
}

// list reads a comma-separated string or a JSON array of strings.
func (r *reader) list(key string) []string {
	var parts []string
	switch v := r.get(key).(type) {
	case nil:
		return nil
	case string:
		parts = strings.Split(v, ",")
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				r.fail(key, v, "want a list of strings")
				return nil
			}
			parts = append(parts, s)
		}
	default:
		r.fail(key, v, "want a comma-separated string or a list of strings")
		return nil
	}
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) number(key string, dst *float64) {
	switch v := r.get(key).(type) {
	case nil:
	case float64:
		*dst = v
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			r.fail(key, v, "want a number")
			return
		}
		*dst = f
	default:
		r.fail(key, v, "want a number")
	}
}

func (r *reader) integer(key string, dst *int) {
	var f float64
	set := false
	switch v := r.get(key).(type) {
	case nil:
		return
	case float64:
		f, set = v, true
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			r.fail(key, v, "want a whole number")
			return
		}
		*dst = n
		return
	}
	if !set || f != math.Trunc(f) || math.Abs(f) > 1e15 {
		r.fail(key, r.get(key), "want a whole number")
		return
	}
	*dst = int(f)
}

func (r *reader) boolean(key string, dst *bool) {
	switch v := r.get(key).(type) {
	case nil:
	case bool:
		*dst = v
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			r.fail(key, v, "want true or false")
			return
		}
		*dst = b
	default:
		r.fail(key, v, "want true or false")
	}
}
