// Package redact masks the credentials a URL can carry, wherever a URL is
// printed: in log values, configuration errors, and error messages (Go's
// own echo the URL they failed on: url.Parse's errors, *url.Error). It is
// the one place that knows what in a URL is a secret:
//
//   - the password of its userinfo (postgres://user:secret@host,
//     http://key:secret@s3-host); the user name is kept, it names who;
//   - the value of a query parameter (or of a key=value pair in text, as
//     in a PostgreSQL connection string) that carries a secret: password,
//     sslpassword, secret, token, access_token, api_key, signature, and
//     S3's X-Amz-Signature, X-Amz-Credential and X-Amz-Security-Token.
//
// Everything else is left as it was written, so that a redacted URL still
// says where it points.
package redact

import "regexp"

// Mask replaces every secret.
const Mask = "xxxxx"

var (
	// userinfo is scheme://user:password@, the password up to the last @
	// before the query, the fragment, a quote or the end of the line: a
	// password may hold an unescaped @, / (S3 secret keys do) or space,
	// which url.Parse refuses, echoing them in its error.
	userinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://[^/?#@\s:"'<>]*):([^?#"'<>\r\n]*)@`)
	// port is a "password" that is a port and more: host:port/…@… has no
	// userinfo (user:1234@ does: digits right before @ are a password).
	port = regexp.MustCompile(`^[0-9]+[/\s]`)
	// secretParam is a query parameter or key=value pair carrying a
	// secret, up to the next separator.
	secretParam = regexp.MustCompile(`(?i)((?:^|[?&;\s])(?:password|passwd|pwd|sslpassword|secret|secret_access_key|secret_key|` +
		`token|access_token|refresh_token|id_token|api_key|apikey|signature|sig|` +
		`x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&;#\s"'<>]*`)
)

// URL returns s with the credentials of every URL in it masked: s may be
// one URL or any text holding URLs (an error message, a log line).
func URL(s string) string {
	s = userinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := userinfo.FindStringSubmatch(m)
		if port.MatchString(sub[2]) {
			return m
		}
		return sub[1] + ":" + Mask + "@"
	})
	return secretParam.ReplaceAllString(s, "${1}"+Mask)
}

// Error returns err with its message passed through URL; errors.Is and
// errors.As still see err. nil stays nil, and an error with nothing to
// mask is returned as it is.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if masked := URL(msg); masked != msg {
		return &maskedError{msg: masked, err: err}
	}
	return err
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }
