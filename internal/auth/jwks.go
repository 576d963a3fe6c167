package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultJWKSMinRefresh is the default of auth.oidc.jwks_min_refresh.
const DefaultJWKSMinRefresh = time.Minute

// maxJWKSBytes bounds the issuer's key set document.
const maxJWKSBytes = 1 << 20

// keySet is the issuer's signing keys (its JWKS), cached and fetched again
// when a token names a key the cache does not hold, as go-oidc's
// RemoteKeySet does (key rotation), but at most once per minRefresh:
// go-oidc fetches for every such token, so anyone able to send bearer
// tokens could make the server hammer the issuer (100 junk tokens, 100
// fetches). A failed fetch counts as one. It implements oidc.KeySet.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration
	algs       []jose.SignatureAlgorithm
	now        func() time.Time

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // when the last fetch began; zero: never
	// inflight is closed when the fetch under way ends; nil: none is.
	inflight chan struct{}
	err      error // of the last fetch
}

// errRefreshLimited is a token whose key is not cached while the key set
// was fetched less than minRefresh ago.
var errRefreshLimited = errors.New("oidc: no cached key matches and the key set was fetched too recently to fetch it again")

// VerifySignature returns the payload of jwt if one of the issuer's keys
// verifies its signature.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, k.algs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed jwt: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	k.mu.Lock()
	cached := k.keys
	k.mu.Unlock()
	if payload, ok := verifyWith(jws, kid, cached); ok {
		return payload, nil
	}
	keys, err := k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, kid, keys); ok {
		return payload, nil
	}
	return nil, errors.New("oidc: no key of the issuer verifies the signature")
}

// verifyWith verifies jws with the keys of id kid (every key when the token
// names none).
func verifyWith(jws *jose.JSONWebSignature, kid string, keys []jose.JSONWebKey) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh fetches the key set again, unless a fetch began less than
// minRefresh ago; callers arriving while a fetch is under way wait for it
// rather than starting another.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	if k.inflight == nil {
		if !k.fetched.IsZero() && k.now().Sub(k.fetched) < k.minRefresh {
			k.mu.Unlock()
			return nil, errRefreshLimited
		}
		k.fetched = k.now()
		done := make(chan struct{})
		k.inflight = done
		// Detached from the request: a client that gives up must not fail
		// the fetch the others wait for (the HTTP client has a timeout).
		go func() {
			keys, err := k.fetch(context.WithoutCancel(ctx))
			k.mu.Lock()
			defer k.mu.Unlock()
			if err == nil {
				k.keys = keys
			}
			k.err = err
			k.inflight = nil
			close(done)
		}()
	}
	done := k.inflight
	k.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-done:
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.err
}

// fetch reads the key set, skipping keys it cannot use (unknown types,
// encryption keys), as RFC 7517 section 5 asks.
func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: key set request: %w", err)
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidc: fetching the key set: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("oidc: fetching the key set: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidc: fetching the key set: %s", resp.Status)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("oidc: the key set is larger than %d bytes", maxJWKSBytes)
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("oidc: decoding the key set: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, r := range raw.Keys {
		var key jose.JSONWebKey
		if json.Unmarshal(r, &key) != nil || key.Use == "enc" || !key.Valid() {
			continue
		}
		keys = append(keys, key)
	}
	return keys, nil
}
