// Package policy decides, with Cedar, whether a request for temporary AWS
// access is allowed and how it is approved, and whether an approver may decide
// a pending request.
//
// A tenant's policy text is validated when it is written with [Parse], which
// checks every policy against Elevate's schema ([SchemaText]) and Elevate's
// annotations, and loaded once per stored version with [Load], which makes
// the same checks but the schema's, so a function that only decides links no
// schema validator. The annotations:
//
//   - @id("…") names the policy; it is required and unique within the set.
//   - @approval("auto" | "require") on a permit: a request is auto-approved
//     only when every permit that allows it says "auto".
//   - @approvals("N") on a permit asks for N distinct approvers (1..10); the
//     largest N among the permits that allow a request wins.
//   - @notice("…") is the sentence shown to people when the policy determines
//     a decision (at most 500 characters).
//   - @escalate_after("PT30M") with @escalate_to("group") on a permit that
//     requires approval: after that time (an ISO 8601 duration from PT1M to
//     P7D) members of the group may decide the request too; the earliest
//     among the permits that allow a request wins, and the approve action
//     sees context.escalated.
//   - @end_sessions("true" | "false") on a permit: whether the open sessions
//     of the access it grants are cut when the grant ends (docs/revocation.md),
//     over the tenant's end_sessions setting; "true" wins among the permits
//     that allow a request.
//
// [Set.Decide] and [Set.MayApprove] are pure: they build the Cedar request and
// entities from plain Go values and never re-parse. Any evaluation error
// denies (fail closed) and names the policy that failed. [DefaultText] is the
// policy set new tenants start with.
package policy
