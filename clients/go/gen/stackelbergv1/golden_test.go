package stackelbergv1_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/stackelberg-market/clients/go/gen/stackelbergv1"
)

// The golden files shared by every language's codec: proto/testdata/<Message>.<case>.bin (the
// wire bytes) and .json (the same message in canonical protobuf JSON).
var testdata = filepath.Join("..", "..", "..", "..", "proto", "testdata")

func TestGoldenFiles(t *testing.T) {
	_ = pb.File_stackelberg_v1_stackelberg_proto // registers the types
	bins, err := filepath.Glob(filepath.Join(testdata, "*.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) == 0 {
		t.Fatalf("no golden files in %s (run node scripts/gen-golden.mjs after npm run build)", testdata)
	}
	for _, bin := range bins {
		name := strings.TrimSuffix(filepath.Base(bin), ".bin")
		t.Run(name, func(t *testing.T) {
			msgName, _, _ := strings.Cut(name, ".")
			mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("stackelberg.v1." + msgName))
			if err != nil {
				t.Fatalf("file prefix %q names no stackelberg.v1 message: %v", msgName, err)
			}
			wire, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			m := mt.New().Interface()
			if err := (proto.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(wire, m); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if u := m.ProtoReflect().GetUnknown(); len(u) > 0 {
				t.Errorf("decoding left %d unknown bytes", len(u))
			}
			again, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if !bytes.Equal(again, wire) {
				// protobuf-go writes a set oneof member after the message's other fields ("to
				// preserve compatibility with historic wire output", internal/impl/codec_message.go),
				// whereas the golden bytes are in field-number order. That is the only difference
				// allowed: both must be the same fields in field-number order.
				if !hasSetOneof(m.ProtoReflect()) {
					t.Fatalf("re-encoded bytes differ:\n got  %x\n want %x", again, wire)
				}
				c1, c2 := canonical(t, again, mt.Descriptor()), canonical(t, wire, mt.Descriptor())
				if !bytes.Equal(c1, c2) {
					t.Fatalf("re-encoded bytes differ beyond oneof order:\n got  %x\n want %x", again, wire)
				}
				if !bytes.Equal(c1, wire) {
					t.Errorf("golden bytes are not in field-number order:\n want %x\n have %x", c1, wire)
				}
				t.Logf("bytes equal up to protobuf-go's oneof-last field order")
			}

			jsonFile := strings.TrimSuffix(bin, ".bin") + ".json"
			want, err := os.ReadFile(jsonFile)
			if os.IsNotExist(err) {
				t.Skipf("no %s", filepath.Base(jsonFile))
			} else if err != nil {
				t.Fatal(err)
			}
			// The JSON form parses into the same message as the bytes...
			fromJSON := mt.New().Interface()
			if err := protojson.Unmarshal(want, fromJSON); err != nil {
				t.Fatalf("protojson.Unmarshal(%s): %v", filepath.Base(jsonFile), err)
			}
			if !proto.Equal(fromJSON, m) {
				t.Errorf("%s and %s decode to different messages:\n json %v\n bin  %v", filepath.Base(jsonFile), filepath.Base(bin), fromJSON, m)
			}
			// ...and protojson writes the same JSON value (compared as parsed JSON, so formatting and
			// the spelling of numbers do not matter).
			got, err := protojson.Marshal(m)
			if err != nil {
				t.Fatalf("protojson.Marshal: %v", err)
			}
			var gv, wv any
			if err := json.Unmarshal(got, &gv); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &wv); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("protojson output differs from %s:\n got  %s\n want %s", filepath.Base(jsonFile), got, bytes.TrimSpace(want))
			}
		})
	}
}

// hasSetOneof reports whether m or any message inside it has a member of a (real) oneof set.
func hasSetOneof(m protoreflect.Message) bool {
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			found = true
		}
		if fd.Message() != nil && !fd.IsMap() {
			if fd.IsList() {
				for i := 0; i < v.List().Len(); i++ {
					found = found || hasSetOneof(v.List().Get(i).Message())
				}
			} else {
				found = found || hasSetOneof(v.Message())
			}
		}
		return !found
	})
	return found
}

// canonical rewrites wire bytes of message md with the fields of every (nested) message stably
// sorted by field number.
func canonical(t *testing.T, b []byte, md protoreflect.MessageDescriptor) []byte {
	t.Helper()
	type field struct {
		num protowire.Number
		raw []byte
	}
	var fields []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			t.Fatalf("bad field %d: %v", num, protowire.ParseError(m))
		}
		raw := b[:n+m]
		if fd := md.Fields().ByNumber(num); fd != nil && fd.Message() != nil && typ == protowire.BytesType {
			inner, _ := protowire.ConsumeBytes(b[n:])
			raw = protowire.AppendTag(nil, num, typ)
			raw = protowire.AppendBytes(raw, canonical(t, inner, fd.Message()))
		}
		fields = append(fields, field{num, raw})
		b = b[n+m:]
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].num < fields[j].num })
	var out []byte
	for _, f := range fields {
		out = append(out, f.raw...)
	}
	return out
}
