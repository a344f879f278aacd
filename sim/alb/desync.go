package alb

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// HTTP desync mitigation (routing.http.desync_mitigation_mode), as the ALB
// user guide documents it ("Desync mitigation mode",
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#desync-mitigation-mode):
// every HTTP/1 request is classified by its threat level, with the tiers
// and reasons of AWS's http_desync_guardian
// (https://github.com/aws/http-desync-guardian/blob/master/docs/README.md),
// and the mode decides what happens to each class:
//
//	class       monitor  defensive                          strictest
//	Compliant   forward  forward                            forward
//	Acceptable  forward  forward                            400
//	Ambiguous   forward  forward, then close the client's   400
//	                     and the target's connections
//	Severe      forward  400                                400
//
// A blocked request is answered 400 and its client connection closed. A
// request that is not compliant counts in
// DesyncMitigationMode_NonCompliant_Request_Count, and its class and reason
// are the access log's classification and classification_reason fields.
// The classification is made here, from the request's own bytes
// (clientconn.go sees them before Go's parser does), with the library's
// documented rules; the code is the lab's own.

// Desync mitigation modes (routing.http.desync_mitigation_mode).
const (
	DesyncMonitor   = "monitor"
	DesyncDefensive = "defensive" // AWS's default
	DesyncStrictest = "strictest"
)

// DesyncModes are the allowed values, AWS's default first.
var DesyncModes = []string{DesyncDefensive, DesyncMonitor, DesyncStrictest}

// Class is a request's desync classification.
type Class uint8

// The classes, by rising threat (http_desync_guardian's tiers).
const (
	Compliant  Class = iota // complies with RFC 7230, no known threat
	Acceptable              // does not comply, no known threat
	Ambiguous               // does not comply; servers may read it differently
	Severe                  // a high risk: malformed, or crafted to desync
)

func (c Class) String() string {
	switch c {
	case Acceptable:
		return "Acceptable"
	case Ambiguous:
		return "Ambiguous"
	case Severe:
		return "Severe"
	}
	return "Compliant"
}

// The classification reasons, http_desync_guardian's names (the access
// log's classification_reason).
const (
	ReasonNonCompliantHeader                 = "NonCompliantHeader"
	ReasonSpaceInURI                         = "SpaceInUri"
	ReasonNonCompliantVersion                = "NonCompliantVersion"
	ReasonGetHeadZeroContentLength           = "GetHeadZeroContentLength"
	ReasonNonCrLfLineTermination             = "NonCrLfLineTermination"
	ReasonEmptyHeader                        = "EmptyHeader"
	ReasonAmbiguousURI                       = "AmbiguousUri"
	ReasonUndefinedContentLengthSemantics    = "UndefinedContentLengthSemantics"
	ReasonUndefinedTransferEncodingSemantics = "UndefinedTransferEncodingSemantics"
	ReasonDuplicateContentLength             = "DuplicateContentLength"
	ReasonBothTeClPresent                    = "BothTeClPresent"
	ReasonSuspiciousHeader                   = "SuspiciousHeader"
	ReasonMultilineHeader                    = "MultilineHeader"
	ReasonMissingHeaderColon                 = "MissingHeaderColon"
	ReasonMissingURI                         = "MissingUri"
	ReasonBadHeader                          = "BadHeader"
	ReasonBadURI                             = "BadUri"
	ReasonBadVersion                         = "BadVersion"
	ReasonMultipleContentLength              = "MultipleContentLength"
	ReasonBadContentLength                   = "BadContentLength"
	ReasonMultipleTransferEncodingChunked    = "MultipleTransferEncodingChunked"
	ReasonBadTransferEncoding                = "BadTransferEncoding"
	ReasonBadMethod                          = "BadMethod"
)

// Verdict is a request's class and the reason for it (empty: compliant).
type Verdict struct {
	Class  Class
	Reason string
}

// raise keeps the first reason of the highest class seen.
func (v *Verdict) raise(c Class, reason string) {
	if c > v.Class {
		v.Class, v.Reason = c, reason
	}
}

// Action is what a desync mitigation mode does with a request.
type Action uint8

// The actions.
const (
	Forward          Action = iota
	ForwardThenClose        // route it, then close the client and target connections
	Block                   // 400, and close the client connection
)

// DesyncAction is what mode does with a request of class c (the table above).
func DesyncAction(mode string, c Class) Action {
	switch mode {
	case DesyncMonitor:
		return Forward
	case DesyncStrictest:
		if c == Compliant {
			return Forward
		}
		return Block
	}
	switch c { // defensive
	case Ambiguous:
		return ForwardThenClose
	case Severe:
		return Block
	}
	return Forward
}

// rawHeader is one header line of a request as it came.
type rawHeader struct {
	name, value []byte
}

// ClassifyRequest classifies one raw HTTP/1 request header (the request
// line through the empty line that ends it). HTTP/2 requests are not
// classified (Compliant), as the library does not.
func ClassifyRequest(head []byte) Verdict {
	var v Verdict
	line, rest, crlf := nextLine(head)
	if !crlf {
		v.raise(Acceptable, ReasonNonCrLfLineTermination)
	}
	method, uri, version := splitRequestLine(line, &v)
	var store [32]rawHeader
	hs := store[:0]
	var prev []byte    // the last header's name, for a folded line
	mediaType := false // the last header was Content-Type (folding allowed)
	for len(rest) > 0 {
		line, rest, crlf = nextLine(rest)
		if !crlf {
			v.raise(Acceptable, ReasonNonCrLfLineTermination)
		}
		if len(line) == 0 {
			break
		}
		folded := line[0] == ' ' || line[0] == '\t'
		name, value, colon := bytes.Cut(line, []byte{':'})
		if folded && prev != nil && (mediaType || !colon) {
			name, value = prev, line // a continuation of the last header
		} else if !colon {
			value = nil
		}
		if !folded && colon {
			prev, mediaType = name, bytes.EqualFold(name, []byte("content-type"))
		}
		hs = append(hs, rawHeader{name: name, value: value})
		if !folded && !colon {
			v.raise(Ambiguous, ReasonMissingHeaderColon)
		}
		if folded && !mediaType {
			v.raise(Ambiguous, ReasonMultilineHeader)
		}
	}
	if bytes.HasPrefix(version, []byte("HTTP/")) && len(version) > 5 && version[5] >= '2' && version[5] <= '9' {
		return Verdict{} // HTTP/2 and later: not classified
	}
	analyse(&v, method, uri, version, hs)
	return v
}

// nextLine cuts b at its first LF; crlf says whether CR came before it (a
// last line without LF counts as CRLF-terminated: the caller hands whole
// heads).
func nextLine(b []byte) (line, rest []byte, crlf bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil, true
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1], rest, true
	}
	return line, rest, false
}

// splitRequestLine splits method SP uri SP version; a missing version is
// HTTP/0.9, a missing URI is ambiguous.
func splitRequestLine(line []byte, v *Verdict) (method, uri, version []byte) {
	i := bytes.IndexByte(line, ' ')
	if i < 0 {
		v.raise(Ambiguous, ReasonMissingURI)
		return line, nil, nil
	}
	method, rest := line[:i], line[i+1:]
	j := bytes.LastIndexByte(rest, ' ')
	if j < 0 {
		if bytes.HasPrefix(rest, []byte("HTTP/1.")) {
			v.raise(Ambiguous, ReasonMissingURI)
			return method, nil, rest
		}
		return method, rest, nil // HTTP/0.9
	}
	return method, rest[:j], rest[j+1:]
}

// analyse applies the library's rules to a parsed request, in its order:
// headers, then Transfer-Encoding and Content-Length, method, version, URI.
func analyse(v *Verdict, method, uri, version []byte, hs []rawHeader) {
	if len(trimOWS(version)) == 0 {
		version = []byte("HTTP/0.9")
	}
	var te, cl []rawHeader
	for _, h := range hs {
		teSim := similarity(h.name, "transfer-encoding")
		clSim := distant
		if teSim == distant {
			clSim = similarity(h.name, "content-length")
		}
		essential := teSim == identical || clSim == identical
		tier := max(nameTier(h.name), valueTier(h.value))
		switch tier {
		case Severe:
			v.raise(Severe, ReasonBadHeader)
		case Acceptable:
			v.raise(Acceptable, ReasonNonCompliantHeader)
		}
		name := trimOWS(h.name)
		switch {
		case len(name) == 0 || name[0] == ':':
			v.raise(Ambiguous, ReasonEmptyHeader)
		case !essential && tier != Severe && (teSim == sameLetters || clSim == sameLetters):
			v.raise(Ambiguous, ReasonSuspiciousHeader)
		case teSim == identical:
			te = append(te, h)
		case clSim == identical:
			cl = append(cl, h)
		}
	}
	bodyHeaders(v, method, version, te, cl)
	for _, c := range method {
		if !isTchar(c) {
			v.raise(Severe, ReasonBadMethod)
			break
		}
	}
	checkVersion(v, version)
	for _, c := range uri {
		switch {
		case c > ' ' && c != 0x7f:
		case c == '\r' || c == '\n' || c == 0:
			v.raise(Severe, ReasonBadURI)
			return
		case c == ' ':
			v.raise(Acceptable, ReasonSpaceInURI)
		default:
			v.raise(Ambiguous, ReasonAmbiguousURI)
		}
	}
}

// bodyHeaders checks Transfer-Encoding and Content-Length.
func bodyHeaders(v *Verdict, method, version []byte, te, cl []rawHeader) {
	if len(te) == 0 && len(cl) == 0 {
		return
	}
	ver := string(trimOWS(version))
	if ver <= "HTTP/1.0" && len(te) > 0 {
		v.raise(Ambiguous, ReasonUndefinedTransferEncodingSemantics)
		return
	}
	if ver < "HTTP/1.0" && len(cl) > 0 {
		v.raise(Ambiguous, ReasonUndefinedContentLengthSemantics)
		return
	}
	chunked := 0
	for _, h := range te {
		for _, item := range bytes.Split(h.value, []byte{','}) {
			coding, _, _ := bytes.Cut(trimOWS(item), []byte{';'})
			switch c := string(bytes.ToLower(trimOWS(coding))); c {
			case "chunked":
				if chunked++; chunked > 1 {
					v.raise(Severe, ReasonMultipleTransferEncodingChunked)
				}
			case "compress", "deflate", "gzip", "identity":
			default:
				v.raise(Severe, ReasonBadTransferEncoding)
			}
		}
	}
	length, haveLength := uint64(0), false
	for _, h := range cl {
		n, err := strconv.ParseUint(string(trimOWS(h.value)), 10, 64)
		if s := trimOWS(h.value); len(s) == 0 {
			n, err = 0, nil // an empty value reads as 0, as the library reads it
		} else if s[0] == '+' {
			err = fmt.Errorf("sign")
		}
		switch {
		case err != nil:
			v.raise(Severe, ReasonBadContentLength)
		case haveLength && n != length:
			v.raise(Severe, ReasonMultipleContentLength)
		case haveLength:
			v.raise(Ambiguous, ReasonDuplicateContentLength)
		default:
			length, haveLength = n, true
		}
	}
	if m := string(method); m == "GET" || m == "HEAD" {
		if len(te) > 0 {
			v.raise(Ambiguous, ReasonUndefinedTransferEncodingSemantics)
		}
		switch {
		case haveLength && length == 0:
			v.raise(Acceptable, ReasonGetHeadZeroContentLength)
		case haveLength:
			v.raise(Ambiguous, ReasonUndefinedContentLengthSemantics)
		}
	}
	if haveLength && len(te) > 0 {
		v.raise(Ambiguous, ReasonBothTeClPresent)
	}
}

func checkVersion(v *Verdict, version []byte) {
	t := trimOWS(version)
	if string(t) == "HTTP/0.9" {
		v.raise(Acceptable, ReasonNonCompliantVersion)
		return
	}
	if len(t) != 8 || !bytes.HasPrefix(t, []byte("HTTP/1.")) || t[7] < '0' || t[7] > '9' {
		v.raise(Severe, ReasonBadVersion)
		return
	}
	if len(t) != len(version) || t[7] > '1' {
		v.raise(Acceptable, ReasonNonCompliantVersion)
	}
}

// trimOWS trims optional whitespace (SP, HTAB) at both ends.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tchars are RFC 7230's token characters.
var tchars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!#$%&'*+^`|~", byte(c)) >= 0
	}
	return t
}()

func isTchar(c byte) bool { return tchars[c] }

// bad are the characters never acceptable in a header: CR, LF, NUL.
func bad(c byte) bool { return c == '\r' || c == '\n' || c == 0 }

// nameTier: token characters are compliant, CR/LF/NUL severe, anything
// else acceptable.
func nameTier(name []byte) Class {
	t := Compliant
	for _, c := range name {
		if !isTchar(c) {
			if bad(c) {
				return Severe
			}
			t = Acceptable
		}
	}
	return t
}

// valueTier: visible characters, obs-text, SP and HTAB are compliant,
// CR/LF/NUL severe, other control characters acceptable.
func valueTier(value []byte) Class {
	t := Compliant
	for _, c := range value {
		if c >= ' ' && c != 0x7f || c == '\t' {
			continue
		}
		if bad(c) {
			return Severe
		}
		t = Acceptable
	}
	return t
}

type likeness uint8

const (
	identical   likeness = iota // the same name, ignoring case
	sameLetters                 // the same letters once case, delimiters and look-alikes are normalised
	distant
)

// similarity compares a header name with an essential header (lower
// case, letters and '-'): a name that normalises to it
// ("Transfer_Encoding", "Transfer-Encoding " or with a dotless ı) is
// suspicious. Normalising keeps ASCII letters and digits, lower-cased, and
// reads ſ and ı as the s and i they upper-case to.
func similarity(name []byte, essential string) likeness {
	if len(name) == len(essential) && bytes.EqualFold(name, []byte(essential)) {
		return identical
	}
	j := 0 // the next letter of essential to match
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c == 0xc5 && i+1 < len(name) && name[i+1] == 0xbf: // ſ upper-cases to S
			c, i = 's', i+1
		case c == 0xc4 && i+1 < len(name) && name[i+1] == 0xb1: // ı upper-cases to I
			c, i = 'i', i+1
		default:
			continue // delimiters and everything else are normalised away
		}
		for j < len(essential) && essential[j] == '-' {
			j++
		}
		if j == len(essential) || essential[j] != c {
			return distant
		}
		j++
	}
	if j == len(essential) {
		return sameLetters
	}
	return distant
}

// validALBHeaderName is the ALB's rule for routing.http.drop_invalid_header_fields:
// header names must match [-A-Za-z0-9]+.
func validALBHeaderName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if !(c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
