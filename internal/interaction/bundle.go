package interaction

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strconv"
)

// bundleWriter renders a Bundle around raw resource JSON without decoding
// and re-encoding the resources.
type bundleWriter struct {
	buf     bytes.Buffer
	entries int
}

type link struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// start writes the Bundle's opening members. total < 0 omits total.
func (b *bundleWriter) start(id, typ, lastUpdated string, total int, links []link) {
	b.buf.WriteString(`{"resourceType":"Bundle","id":`)
	writeJSON(&b.buf, id)
	b.buf.WriteString(`,"meta":{"lastUpdated":`)
	writeJSON(&b.buf, lastUpdated)
	b.buf.WriteString(`},"type":`)
	writeJSON(&b.buf, typ)
	if total >= 0 {
		b.buf.WriteString(`,"total":`)
		b.buf.WriteString(strconv.Itoa(total))
	}
	if len(links) > 0 {
		b.buf.WriteString(`,"link":`)
		writeJSON(&b.buf, links)
	}
	b.buf.WriteString(`,"entry":[`)
}

// entry is one Bundle.entry; Resource is raw JSON and may be nil.
type entry struct {
	FullURL  string
	Resource []byte
	Search   any // Bundle.entry.search, or nil
	Request  any // Bundle.entry.request, or nil
	Response any // Bundle.entry.response, or nil
}

func (b *bundleWriter) add(e entry) {
	if b.entries > 0 {
		b.buf.WriteByte(',')
	}
	b.entries++
	b.buf.WriteString(`{`)
	sep := ""
	if e.FullURL != "" {
		b.buf.WriteString(`"fullUrl":`)
		writeJSON(&b.buf, e.FullURL)
		sep = ","
	}
	if e.Resource != nil {
		b.buf.WriteString(sep + `"resource":`)
		b.buf.Write(e.Resource)
		sep = ","
	}
	for _, m := range []struct {
		name string
		v    any
	}{{"search", e.Search}, {"request", e.Request}, {"response", e.Response}} {
		if m.v != nil {
			b.buf.WriteString(sep + `"` + m.name + `":`)
			writeJSON(&b.buf, m.v)
			sep = ","
		}
	}
	b.buf.WriteString(`}`)
}

// finish closes the Bundle and returns its bytes. An empty entry array is
// dropped, since FHIR JSON never has empty arrays.
func (b *bundleWriter) finish() []byte {
	out := b.buf.Bytes()
	if b.entries == 0 {
		out = bytes.TrimSuffix(out, []byte(`,"entry":[`))
		return append(out, '}')
	}
	return append(out, ']', '}')
}

func writeJSON(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	// Encoder adds a newline; drop it to keep the bundle compact.
	buf.Truncate(buf.Len() - 1)
}

// pageURL renders a paging link: base plus path plus query.
func pageURL(base, path string, q url.Values) string {
	u := base + path
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u
}
