package app

import (
	"context"
	"errors"

	"github.com/messagedb-go/messagedb/ports"
)

// postgresOptions stands in for postgres.Options until the PostgreSQL
// adapter is wired into Open.
type postgresOptions struct{}

// openPostgres reports that this build cannot open PostgreSQL yet.
func openPostgres(ctx context.Context, url string, o *postgresOptions) (ports.Store, error) {
	return nil, errors.New("messagedb: the PostgreSQL backend is not wired into app.Open yet")
}
