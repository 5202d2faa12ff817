package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Object is a JSON object kept as its members in document order, each
// value as the raw bytes that were read. Editing one member leaves every
// other byte alone, so numbers keep their precision ("1.50") and members
// keep the order the client sent.
type Object struct {
	Members []Member
}

// Member is one name/value pair of an Object.
type Member struct {
	Key   string
	Value json.RawMessage
}

// ErrNotObject reports JSON whose top level is not an object.
var ErrNotObject = errors.New("JSON value is not an object")

// ParseObject reads b as one JSON object. Duplicate member names are an
// error, as is anything after the object.
func ParseObject(b []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, ErrNotObject
	}
	o := &Object{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("duplicate member %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		o.Members = append(o.Members, Member{key, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return o, nil
}

// Get returns the raw value of member key.
func (o *Object) Get(key string) (json.RawMessage, bool) {
	for _, m := range o.Members {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// GetString returns member key when it is a JSON string.
func (o *Object) GetString(key string) (string, bool) {
	raw, ok := o.Get(key)
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// Set replaces member key in place, or inserts it after the member named
// after (at the end when after is absent or empty).
func (o *Object) Set(key string, v json.RawMessage, after ...string) {
	for i := range o.Members {
		if o.Members[i].Key == key {
			o.Members[i].Value = v
			return
		}
	}
	for _, a := range after {
		for i := range o.Members {
			if o.Members[i].Key == a {
				o.Members = append(o.Members[:i+1], append([]Member{{key, v}}, o.Members[i+1:]...)...)
				return
			}
		}
	}
	o.Members = append(o.Members, Member{key, v})
}

// Delete removes member key if present.
func (o *Object) Delete(key string) {
	for i := range o.Members {
		if o.Members[i].Key == key {
			o.Members = append(o.Members[:i], o.Members[i+1:]...)
			return
		}
	}
}

// Bytes renders the object compactly.
func (o *Object) Bytes() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o.Members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.Key)
		b.Write(k)
		b.WriteByte(':')
		if err := json.Compact(&b, m.Value); err != nil {
			b.Write(m.Value)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// FormatInstant renders t as a FHIR instant in UTC with microseconds,
// the precision every store keeps.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// Stamp sets id, meta.versionId and meta.lastUpdated in a resource's
// JSON, keeping every other member and their order, and returns the
// compact result. id goes after resourceType and meta after id when they
// are new.
func Stamp(o *Object, id string, version int64, lastUpdated time.Time) ([]byte, error) {
	idRaw, _ := json.Marshal(id)
	o.Set("id", idRaw, "resourceType")
	meta := &Object{}
	if raw, ok := o.Get("meta"); ok {
		m, err := ParseObject(raw)
		if err != nil {
			return nil, Errorf(400, IssueStructure, "meta must be a JSON object").At(resourceTypeOf(o) + ".meta")
		}
		meta = m
	}
	vid, _ := json.Marshal(fmt.Sprint(version))
	lu, _ := json.Marshal(FormatInstant(lastUpdated))
	meta.Set("versionId", vid)
	meta.Set("lastUpdated", lu, "versionId")
	o.Set("meta", meta.Bytes(), "id", "resourceType")
	return o.Bytes(), nil
}

func resourceTypeOf(o *Object) string {
	s, _ := o.GetString("resourceType")
	return s
}
