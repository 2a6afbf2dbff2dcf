package sync

import (
	"errors"
	"strings"
)

// maskedError hides the local part of email addresses in err's text, so
// logs and stored errors carry no full emails.
func maskedError(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(maskEmails(err.Error()))
}

// maskEmails replaces the local part of every email-shaped value in s
// with its first character and stars: "alice@example.com" becomes
// "a****@example.com".
func maskEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] != '@' {
			continue
		}
		j := i
		for j > 0 && isLocalChar(b[j-1]) {
			j--
		}
		for k := j + 1; k < i; k++ {
			b[k] = '*'
		}
	}
	return string(b)
}

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", c) >= 0
}
