package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/flymodel/flymodel/api"
	"github.com/flymodel/flymodel/internal/db"
)

// TokenPrefix starts every API token, so that a leaked one is easy to
// recognise (and to scan for).
const TokenPrefix = "fm_"

// NewSecret returns a new API token: TokenPrefix and 256 random bits.
func NewSecret() string { return TokenPrefix + rand.Text() + rand.Text() }

// HashSecret is what the database keeps of a token: its sha256, in hex. A
// token holds 256 random bits, so a fast hash is as strong as a slow one.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// AllNamespaces is the namespace list of a token for every namespace, in
// requests and listings: a token's scope is never implied by an empty list.
const AllNamespaces = api.AllNamespaces

// verifyToken finds the live token whose secret is secret. An unknown
// token and a known one with a wrong secret take the same path: the
// secret is hashed and the hash looked up in a unique index, so no
// comparison of secret bytes happens that could leak through its timing;
// the row found is compared again in constant time all the same.
func verifyToken(ctx context.Context, q db.Queries, secret string, now time.Time) (Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 256 {
		return Principal{}, ErrInvalidToken
	}
	hash := HashSecret(secret)
	rows, err := q.GetTokenByHash(ctx, hash)
	if err != nil {
		return Principal{}, err
	}
	if len(rows) == 0 {
		return Principal{}, ErrInvalidToken
	}
	if subtle.ConstantTimeCompare([]byte(rows[0].SecretHash), []byte(hash)) != 1 {
		return Principal{}, ErrInvalidToken
	}
	return tokenPrincipal(rows, now)
}

// tokenPrincipal is the principal of a token read as GetTokenByHash rows
// (at least one), or ErrInvalidToken when it is revoked or expired at now.
func tokenPrincipal(rows []db.GetTokenByHashRow, now time.Time) (Principal, error) {
	row := rows[0]
	if row.RevokedAt != nil || (row.ExpiresAt != nil && !now.Before(*row.ExpiresAt)) {
		return Principal{}, ErrInvalidToken
	}
	role, err := ParseRole(row.Role)
	if err != nil {
		return Principal{}, ErrInvalidToken
	}
	p := Principal{Name: row.Name}
	if row.AllNamespaces {
		p.Grants = []Grant{{Role: role}}
		return p, nil
	}
	// The namespaces are held by id and read by their names now; a token
	// whose namespaces are all gone has no grant.
	for _, r := range rows {
		if r.Namespace != "" {
			p.Grants = append(p.Grants, Grant{Namespace: r.Namespace, Role: role})
		}
	}
	return p, nil
}

// ParseLifetime parses a token lifetime: a Go duration ("12h", "90m") or
// a number of days ("90d").
func ParseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil || n < 1 || n > 36500 {
			return 0, fmt.Errorf("invalid lifetime %q: want a number of days from 1 to 36500, e.g. 90d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid lifetime %q: want e.g. 90d, 12h or 30m", s)
	}
	return d, nil
}
