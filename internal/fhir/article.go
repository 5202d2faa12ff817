package fhir

import "strings"

// A returns word preceded by its indefinite article, "a" or "an", as
// messages built around a type or element name need it: "an
// Observation", "a Patient", "a uri", "an unsignedInt", "an index".
//
// The article follows the sound of the word, which the first letter
// decides except for a few spellings English readers pronounce
// otherwise: a leading "u" read as "you" (uri, url, uuid, usage,
// unique, unit, use), "eu" and "one". An empty word gets "a".
func A(word string) string {
	return Article(word) + " " + word
}

// Article returns "an" when word begins with a vowel sound and "a"
// otherwise; see A.
func Article(word string) string {
	w := strings.ToLower(word)
	if w == "" {
		return "a"
	}
	switch w[0] {
	case 'a', 'i', 'o':
		if strings.HasPrefix(w, "one") {
			return "a"
		}
		return "an"
	case 'e':
		if strings.HasPrefix(w, "eu") {
			return "a"
		}
		return "an"
	case 'u':
		for _, p := range youPrefixes {
			if strings.HasPrefix(w, p) {
				return "a"
			}
		}
		return "an"
	}
	return "a"
}

// youPrefixes start words whose leading "u" sounds like "you". Names in
// FHIR R4 that begin so: uri, url, uuid, UsageContext, and the words
// unique, unit, use, usual, utility in messages.
var youPrefixes = []string{"uri", "url", "uuid", "usa", "use", "usu", "uni", "uti", "ubi", "ure"}
