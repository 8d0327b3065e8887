// Package tablestream provides the need table-stream: the table's stream of
// new images, which the stack's event source mapping hands the function
// (the outbox, events-publish). What it builds is the decoder of the
// stream's items; reading the stream is the mapping's.
package tablestream

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/elevate-jit/elevate/internal/access"
	"github.com/elevate-jit/elevate/internal/deploy"
	"github.com/elevate-jit/elevate/internal/function"
	"github.com/elevate-jit/elevate/internal/store/dynamo"
)

// Provider serves table-stream.
var Provider = function.Provider{
	Name:  "tablestream",
	Needs: []deploy.Need{deploy.NeedTableStream},
	Provide: func(w *function.Wiring) error {
		w.Outbox = Decode
		return nil
	},
}

// Decode reads the new image of a stream record as an audit event: the
// item the store wrote (dynamo.AuditEventOf).
func Decode(image map[string]events.DynamoDBAttributeValue) (access.AuditEvent, error) {
	item := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := attributeValue(v)
		if err != nil {
			return access.AuditEvent{}, fmt.Errorf("attribute %s: %w", k, err)
		}
		item[k] = av
	}
	return dynamo.AuditEventOf(item)
}

// attributeValue turns an attribute value as Lambda delivers it (the
// stream's JSON) into the SDK's, which the store's decoder reads.
func attributeValue(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		out := make([]types.AttributeValue, 0, len(v.List()))
		for i, e := range v.List() {
			av, err := attributeValue(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out = append(out, av)
		}
		return &types.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		out := make(map[string]types.AttributeValue, len(v.Map()))
		for k, e := range v.Map() {
			av, err := attributeValue(e)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k, err)
			}
			out[k] = av
		}
		return &types.AttributeValueMemberM{Value: out}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %d", v.DataType())
}
