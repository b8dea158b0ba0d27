package crifuzz

import (
	"fmt"
	"math"
	"math/rand"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// slot is one field of one (sub)message that a mutation may change.
type slot struct {
	msg protoreflect.Message
	fd  protoreflect.FieldDescriptor
}

// slots lists every field of m and of its set sub-messages, set or not, so
// that a mutation can as well fill an absent message as clear a present one.
func slots(m protoreflect.Message, depth int, out []slot) []slot {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		out = append(out, slot{m, fd})
		if depth >= 6 || !m.Has(fd) {
			continue
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				m.Get(fd).Map().Range(func(_ protoreflect.MapKey, v protoreflect.Value) bool {
					out = slots(v.Message(), depth+1, out)
					return true
				})
			}
		case fd.IsList():
			if fd.Kind() == protoreflect.MessageKind {
				l := m.Get(fd).List()
				for j := 0; j < l.Len() && j < 4; j++ {
					out = slots(l.Get(j).Message(), depth+1, out)
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			out = slots(m.Get(fd).Message(), depth+1, out)
		}
	}
	return out
}

// mutator changes requests in place, drawing from f's random source and
// its pools of interesting values.
type mutator struct {
	rnd *rand.Rand
	// strings draws a string for fd; small asks for a short one (many are
	// being added at once, and the request must stay in memory).
	strings func(fd protoreflect.FieldDescriptor, small bool) string
	small   bool
}

// mutate applies 1–3 mutations to m.
func (mu *mutator) mutate(m protoreflect.Message) []string {
	var did []string
	for n := 1 + mu.rnd.Intn(3); n > 0; n-- {
		all := slots(m, 0, nil)
		if len(all) == 0 {
			return did
		}
		s := all[mu.rnd.Intn(len(all))]
		did = append(did, mu.mutateSlot(s))
	}
	return did
}

func (mu *mutator) mutateSlot(s slot) string {
	fd, m := s.fd, s.msg
	name := string(fd.FullName())
	switch {
	case fd.IsList():
		l := m.Mutable(fd).List()
		switch mu.rnd.Intn(4) {
		case 0:
			m.Clear(fd)
			return name + ": cleared"
		case 1:
			n := []int{1, 2, 50, 3000}[mu.rnd.Intn(4)]
			mu.small = n > 2
			for i := 0; i < n; i++ {
				l.Append(mu.value(fd, l.NewElement()))
			}
			mu.small = false
			return fmt.Sprintf("%s: +%d", name, n)
		default:
			if l.Len() > 0 {
				i := mu.rnd.Intn(l.Len())
				l.Set(i, mu.value(fd, l.Get(i)))
				return fmt.Sprintf("%s[%d] changed", name, i)
			}
			l.Append(mu.value(fd, l.NewElement()))
			return name + ": +1"
		}
	case fd.IsMap():
		mp := m.Mutable(fd).Map()
		if mu.rnd.Intn(4) == 0 {
			m.Clear(fd)
			return name + ": cleared"
		}
		n := []int{1, 1, 5, 5000}[mu.rnd.Intn(4)]
		mu.small = n > 1
		defer func() { mu.small = false }()
		for i := 0; i < n; i++ {
			k := mu.value(fd.MapKey(), protoreflect.Value{})
			key := k.MapKey()
			if n > 1 && fd.MapKey().Kind() == protoreflect.StringKind {
				key = protoreflect.ValueOfString(fmt.Sprintf("k%d-%s", i, k.String())).MapKey()
			}
			var v protoreflect.Value
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v = mp.NewValue()
			} else {
				v = mu.value(fd.MapValue(), protoreflect.Value{})
			}
			mp.Set(key, v)
		}
		return fmt.Sprintf("%s: +%d entries", name, n)
	case fd.Kind() == protoreflect.MessageKind:
		if m.Has(fd) && mu.rnd.Intn(2) == 0 {
			m.Clear(fd)
			return name + ": nil"
		}
		sub := m.Mutable(fd).Message()
		if mu.rnd.Intn(2) == 0 {
			mu.mutate(sub)
			return name + ": filled and mutated"
		}
		return name + ": empty message"
	}
	m.Set(fd, mu.value(fd, m.Get(fd)))
	return name + " changed"
}

// value returns an interesting value of fd's kind; old (may be invalid) is
// the current one, for messages.
func (mu *mutator) value(fd protoreflect.FieldDescriptor, old protoreflect.Value) protoreflect.Value {
	r := mu.rnd
	switch fd.Kind() {
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(mu.strings(fd, mu.small))
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(mu.strings(fd, mu.small)))
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(r.Intn(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if r.Intn(2) == 0 && vals.Len() > 0 {
			return protoreflect.ValueOfEnum(vals.Get(r.Intn(vals.Len())).Number())
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber([]int32{-1, 99, 1 << 20, math.MinInt32}[r.Intn(4)]))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(mu.number()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(mu.number())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(mu.number()))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(mu.number()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64([]float64{math.NaN(), math.Inf(1), -1, 1e300}[r.Intn(4)])
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32([]float32{float32(math.NaN()), -1, 1e30}[r.Intn(3)])
	case protoreflect.MessageKind:
		if old.IsValid() {
			if msg, ok := old.Interface().(protoreflect.Message); ok && msg.IsValid() {
				if r.Intn(2) == 0 && !mu.small {
					mu.mutate(msg)
				}
				return old
			}
		}
	}
	return old
}

// number draws negative, absurd and small numbers (never a large valid
// timeout: a call honouring it would look like a hang).
func (mu *mutator) number() int64 {
	return []int64{-1, -2, math.MinInt32, math.MinInt64, 1 << 40, math.MaxInt64, 1 << 62, 0, 1, 2, 3, 65536, 70000}[mu.rnd.Intn(13)]
}

// randomText is printable noise of up to n bytes.
func randomText(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@=+!*? "
	b := make([]byte, 1+r.Intn(n))
	for i := range b {
		b[i] = alphabet[r.Intn(len(alphabet))]
	}
	return strings.TrimSpace(string(b)) + "x"
}

func randomHex(r *rand.Rand, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[r.Intn(16)]
	}
	return string(b)
}
