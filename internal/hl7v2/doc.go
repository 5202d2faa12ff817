// Package hl7v2 parses HL7 version 2 messages in the ER7 ("pipe and hat") encoding and builds
// their acknowledgements. It performs no I/O; the MLLP transport lives in package
// hl7v2/mllp.
//
// # Encoding rules
//
// The rules are those of HL7 v2.5.1 chapter 2 (Control), section 2.5 "Message construction
// rules", which later versions up to 2.8.2 keep:
//
//   - A message is a sequence of segments, each ending with a carriage return (0x0D). Parse
//     also accepts LF and CRLF, blank lines, and a missing terminator after the last segment,
//     because real feeds use all of them.
//   - The first segment is MSH. MSH-1 is the field separator (the byte after "MSH") and MSH-2
//     holds the encoding characters in the order component, repetition, escape, subcomponent
//     and (from v2.7) truncation. Any printable, non-alphanumeric ASCII characters may be
//     chosen; they must all differ. A sender may declare fewer than four; the missing ones
//     are then ordinary text.
//   - Fields split into repetitions, repetitions into components, components into
//     subcomponents. Numbering is 1-based throughout this package, as in HL7: Field(1) of MSH
//     is MSH-1, Rep(1) is the first repetition, Component(1) the first component.
//   - Values are unescaped on access (section 2.7): \F\ \S\ \T\ \R\ \E\ \P\ become the
//     delimiter they stand for, \Xhh..\ becomes the bytes it encodes, \.br\ and \.sp\ become a
//     line feed. Highlighting (\H\ \N\), the other formatting commands of section 2.7.6
//     (\.in\ \.ti\ \.sk\ \.ce\ \.fi\ \.nf\) and character-set switches (\Cxxyy\ \Mxxyyzz\) are
//     dropped. Unknown or unterminated escape sequences are kept as literal text, so nothing
//     the sender wrote is lost.
//   - The HL7 null "" (two double quotes, meaning "delete this value") is returned as the two
//     characters `""`; IsNull reports it.
//
// # Character sets
//
// MSH-18 (table 0211) names the character set; Parse returns UTF-8 strings. Supported values:
// empty and "ASCII" (the HL7 default; valid UTF-8 is kept, other bytes are read as ISO 8859-1
// because that is what such feeds send in practice), "8859/1", "8859/15", "UNICODE UTF-8"
// and "UNICODE" (taken to be UTF-8, as the NHS ITK profile uses it; the bytes must be valid
// UTF-8). Any other value is refused with ErrUnsupportedCharset.
//
// # Versions
//
// MSH-12 must name a version from 2.3 to 2.8.2 (2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.7.1,
// 2.8, 2.8.1, 2.8.2); others are refused with ErrUnsupportedVersion, which the receiver
// answers with AR and error code 203.
//
// # Acknowledgements
//
// HL7 v2.5.1 section 2.9 defines two acknowledgement modes, chosen by the sender through
// MSH-15 (accept acknowledgement type) and MSH-16 (application acknowledgement type), both
// from table 0155: AL always, NE never, ER on error or reject only, SU on success only.
//
//   - Original mode (MSH-15 and MSH-16 both empty): the receiver answers each message with one
//     ACK carrying AA (accepted), AE (error: the content is wrong, do not resend it unchanged)
//     or AR (reject: unsupported type, version or processing id, or a receiver failure; the
//     sender may retry).
//   - Enhanced mode (either field valued): the receiver first sends a commit (accept)
//     acknowledgement CA, CE or CR once the message is in safe storage, when MSH-15 asks for
//     it; an application acknowledgement (AA/AE/AR) may follow later as a message of its own,
//     when MSH-16 asks for it. AckMode reports the mode and AckWanted applies the table 0155
//     condition.
//
// Either way a receiver commits the message to durable storage before it sends AA or CA, so
// that a lost acknowledgement causes a resend and never a loss.
package hl7v2
