package main

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/flymodel/flymodel/internal/auth"
	"github.com/flymodel/flymodel/internal/config"
	"github.com/flymodel/flymodel/internal/db"
)

// newAuthenticator builds serve's authentication from auth.* and refuses
// to open a non-loopback address to no one or to anyone by accident.
func newAuthenticator(ctx context.Context, cfg *config.Config, database db.DB, logger *slog.Logger) (*auth.Authenticator, error) {
	var oidc *auth.OIDC
	if o := cfg.Auth.OIDC; o.Issuer != "" {
		var err error
		oidc, err = auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: o.Issuer, Audience: o.Audience, RoleClaim: o.RoleClaim, Roles: o.Roles,
			JWKSMinRefresh: o.JWKSMinRefresh, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			Scopes: strings.Fields(o.Scopes), RedirectURL: o.RedirectURL}, nil)
		if err != nil {
			return nil, err
		}
		logger.Info("OIDC bearer tokens accepted", "issuer", o.Issuer, "audience", o.Audience)
	}
	a := auth.New(auth.Options{DB: database, OIDC: oidc, Anonymous: cfg.Auth.Anonymous, Loopback: auth.IsLoopback(cfg.Server.Bind)})
	if err := a.CheckStartup(ctx, net.JoinHostPort(cfg.Server.Bind, strconv.Itoa(cfg.Server.Port))); err != nil {
		return nil, err
	}
	role, err := a.AnonymousRole(ctx)
	if err != nil {
		return nil, err
	}
	policy := cfg.Auth.Anonymous
	if policy == "" {
		policy = "default: write on a loopback address while no token exists, else none; read at each request"
	}
	if role == auth.Admin {
		logger.Warn("anonymous requests may do anything, delete and manage tokens included (auth.anonymous = admin)")
	}
	logger.Info("anonymous requests", "role", role.String(), "policy", policy)
	return a, nil
}
