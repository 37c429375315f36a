package wire

import (
	"fmt"

	"github.com/corvid-io/corvid/internal/msgpack"
)

// AppendMsgpack writes o as a msgpack map in its key order.
func (o obj) AppendMsgpack(dst []byte) ([]byte, error) {
	dst = msgpack.AppendMapHeader(dst, len(o))
	var err error
	for _, e := range o {
		dst = msgpack.AppendString(dst, e.Key)
		if dst, err = msgpack.Append(dst, e.Value); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendMsgpack appends v as notepack.io would encode the equivalent JS value.
func appendMsgpack(dst []byte, v any) ([]byte, error) {
	out, err := msgpack.Append(dst, v)
	if err != nil {
		return dst, fmt.Errorf("wire: msgpack: %w", err)
	}
	return out, nil
}

// decodeMsgpack decodes one msgpack value (no trailing bytes, like notepack).
func decodeMsgpack(b []byte) (any, error) {
	var v any
	if err := msgpack.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return v, nil
}
