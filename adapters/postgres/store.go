package postgres

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/messagedb-go/messagedb/domain"
	"github.com/messagedb-go/messagedb/internal/incarnation"
	"github.com/messagedb-go/messagedb/internal/migrate"
	"github.com/messagedb-go/messagedb/ports"
)

// DefaultMaxConns is the size of a Store's connection pool when
// Options.MaxConns is 0.
const DefaultMaxConns = 10

// SchemaPrefix starts the name of every namespace's schema.
const SchemaPrefix = "messagedb_"

// Application names the Store's connections report to PostgreSQL
// (pg_stat_activity.application_name), unless the URL sets one.
const (
	applicationName         = "messagedb"
	listenerApplicationName = "messagedb-listener"
	notifierApplicationName = "messagedb-notifier"
)

// cancelSettleTimeout bounds how long a call whose context ended waits for
// the server to confirm the cancellation of its statement, before it closes
// the connection (a server that does not answer).
const cancelSettleTimeout = time.Second

// Options adjust a Store. The zero value (or nil) uses the defaults.
type Options struct {
	// MetadataSchema is the schema of the registry of namespaces; default
	// "messagedb". It must be a plain lowercase SQL identifier.
	MetadataSchema string
	// MaxConns is the most connections the pool opens; default
	// DefaultMaxConns. The Store opens one more, for LISTEN, once a
	// category is watched, and one more, for NOTIFY, once it has written.
	MaxConns int
	// MaxMessageSize is the most bytes of data and metadata one message may
	// hold together, in canonical form: 0 means domain.DefaultMaxMessageSize
	// (1 MiB), a negative value no limit (jsonb still refuses a value above
	// 255 MiB). A larger message is refused with an error matching
	// domain.ErrMessageTooLarge; see domain.Limits.
	MaxMessageSize int64
	// Observer, when set, is told when the listener's connection (the one
	// that LISTENs for the notifications that wake watchers, named
	// "listener") is lost, and when it is back.
	Observer ports.ConnectionObserver
	// Standbys are the connection URLs (or keyword/value DSNs) of hot
	// standbys streaming the primary's WAL, to which category reads go
	// (see "Reads from standbys" in the package documentation). The URL's
	// standby_hosts parameter adds standbys reached as the primary is but
	// for host and port. Each has a pool of MaxConns connections, opened as
	// reads need them: a standby that is down when the Store opens is
	// tried later.
	Standbys []string
	// MaxStandbyLag bounds how far behind the primary a standby that
	// serves a read may be, and how long a read waits for a standby to
	// replay the writes it must see before it goes to the primary; 0 means
	// the URL's max_standby_lag parameter, else DefaultMaxStandbyLag.
	MaxStandbyLag time.Duration

	// namespaceMigrations replaces the embedded namespace migrations
	// (tests: a migration that fails).
	namespaceMigrations fs.FS
}

// Store is the PostgreSQL backend: a registry of namespaces in the metadata
// schema, each namespace a schema of its own. It is safe for concurrent use.
type Store struct {
	db *bun.DB
	// pool is the connection pool; db runs over it too. The hot paths
	// (writes and reads of messages) use it directly, in mode.
	pool     *pgxpool.Pool
	mode     pgx.QueryExecMode
	mdSchema string
	migrator *migrate.Migrator
	listener *listener
	notifier *notifier
	// reads sends category reads to standbys; nil without standbys.
	reads  *router
	closed atomic.Bool
	limits domain.Limits
	// incarnations holds the current incarnation of each namespace whose
	// handles are out: deleting the namespace through this Store ends it,
	// and its handles then fail even if a namespace of the same id is
	// created again (as on SQLite).
	incarnations incarnation.Registry[struct{}]
	// migrated holds the ids of the namespaces whose schema this Store
	// created or brought up to date, with what the schema had recorded
	// before (nothing for a namespace it created).
	migrated sync.Map // string → []migrate.Migration
	// registryBefore is what the registry had recorded before Open
	// migrated it.
	registryBefore []migrate.Migration
	// token is the payload of the Store's notifications, by which its
	// listener knows its own: their watchers were woken at the write.
	token string
}

var _ ports.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// keyword/value DSN, as pgx and pgxpool accept) and migrates the registry in
// the metadata schema. The Store owns its connection pool; Close releases it.
//
// Writes and reads of messages run in the URL's default_query_exec_mode,
// pgx's cache_statement unless the URL says otherwise: each connection
// prepares them once (see the package documentation). Everything else (the
// registry, migrations, imports) uses pgx's simple protocol.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MetadataSchema == "" {
		o.MetadataSchema = defaultMetadataSchema
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConns < 0 {
		return nil, fmt.Errorf("messagedb: postgres: MaxConns %d must not be negative", o.MaxConns)
	}

	if o.MaxConns > math.MaxInt32 {
		return nil, fmt.Errorf("messagedb: postgres: MaxConns %d is too large", o.MaxConns)
	}
	if o.MaxStandbyLag < 0 {
		return nil, fmt.Errorf("messagedb: postgres: MaxStandbyLag %s must not be negative", o.MaxStandbyLag)
	}

	url, sp, err := takeStandbyParams(url)
	if err != nil {
		return nil, fmt.Errorf("messagedb: postgres: connection URL: %v", err)
	}
	if o.MaxStandbyLag == 0 {
		o.MaxStandbyLag = sp.maxLag
	}
	if o.MaxStandbyLag == 0 {
		o.MaxStandbyLag = DefaultMaxStandbyLag
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL's password; say no more.
		return nil, errors.New("messagedb: postgres: cannot parse the connection URL")
	}
	cfg := pcfg.ConnConfig
	mode := cfg.DefaultQueryExecMode
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	listenCfg := cfg.Copy()
	notifyCfg := cfg.Copy()
	configurePool(pcfg, o.MaxConns)
	listenCfg.RuntimeParams["application_name"] = listenerApplicationName
	notifyCfg.RuntimeParams["application_name"] = notifierApplicationName
	notifyCfg.DefaultQueryExecMode = mode

	standbyURLs := o.Standbys
	for _, h := range sp.hosts {
		u, err := standbyConnString(url, h, cfg.Port)
		if err != nil {
			return nil, fmt.Errorf("messagedb: postgres: connection URL: %v", err)
		}
		standbyURLs = append(standbyURLs, u)
	}
	var standbyCfgs []*pgxpool.Config
	var standbyModes []pgx.QueryExecMode
	for i, u := range standbyURLs {
		scfg, err := pgxpool.ParseConfig(u)
		if err != nil {
			return nil, fmt.Errorf("messagedb: postgres: cannot parse the connection URL of standby %d", i+1)
		}
		if scfg.ConnConfig.RuntimeParams == nil {
			scfg.ConnConfig.RuntimeParams = map[string]string{}
		}
		standbyModes = append(standbyModes, scfg.ConnConfig.DefaultQueryExecMode)
		configurePool(scfg, o.MaxConns)
		standbyCfgs = append(standbyCfgs, scfg)
	}

	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, dbError(ctx, "connect", err)
	}
	var standbys []*standby
	for i, scfg := range standbyCfgs {
		// Connects when a read needs it.
		spool, err := pgxpool.NewWithConfig(ctx, scfg)
		if err != nil {
			for _, sb := range standbys {
				sb.pool.Close()
			}
			pool.Close()
			return nil, dbError(ctx, fmt.Sprintf("standby %d", i+1), err)
		}
		standbys = append(standbys, &standby{pool: spool, mode: standbyModes[i]})
	}
	db := bun.NewDB(stdlib.OpenDBFromPool(pool), pgdialect.New())
	closeAll := func() {
		_ = db.Close()
		pool.Close()
		for _, sb := range standbys {
			sb.pool.Close()
		}
	}

	m, err := migrate.New(db.DB, dialect{registrySchema: o.MetadataSchema}, &migrate.Options{
		Namespace: o.namespaceMigrations,
	})
	if err != nil {
		closeAll()
		return nil, domain.Wrapf(err, "postgres")
	}
	if err := pool.Ping(ctx); err != nil {
		closeAll()
		return nil, dbError(ctx, "connect", err)
	}
	registryBefore, err := m.AutoMigrate(ctx)
	if err != nil {
		closeAll()
		return nil, migrationError(ctx, "migrate the registry", err)
	}
	s := &Store{db: db, pool: pool, mode: mode, mdSchema: o.MetadataSchema, migrator: m, limits: domain.Limits{MaxMessageSize: o.MaxMessageSize}}
	s.registryBefore = registryBefore
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	s.token = hex.EncodeToString(token)
	if len(standbys) > 0 {
		s.reads = newRouter(pool, standbys, o.MaxStandbyLag)
	}
	s.listener = newListener(listenCfg, s.token, s.reads)
	s.listener.obs = o.Observer
	s.notifier = newNotifier(notifyCfg, s.token)
	return s, nil
}

// configurePool applies the Store's settings to the configuration of a
// pool of the primary or of a standby, whose RuntimeParams is not nil.
// Statements run in pgx's simple protocol unless a call passes the URL's
// mode, as the reads and writes of messages do.
func configurePool(pcfg *pgxpool.Config, maxConns int) {
	pcfg.MaxConns = int32(maxConns)
	pcfg.MinConns = 0
	pcfg.MaxConnIdleTime = 5 * time.Minute
	cfg := pcfg.ConnConfig
	mode := cfg.DefaultQueryExecMode
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = applicationName
	}
	// The statements a connection prepares are this package's own, written
	// for one plan whatever the arguments. PostgreSQL would otherwise plan
	// the category reads again on every call: their generic plan's
	// estimated cost stays above the custom plans', though it is the same
	// index scan. (Only in the mode that prepares named statements: a
	// connection pooler may refuse the parameter, and the other modes suit
	// poolers.)
	if mode == pgx.QueryExecModeCacheStatement && cfg.RuntimeParams["plan_cache_mode"] == "" {
		cfg.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
	// A call whose context ends while its statement runs asks the server to
	// cancel the statement and waits for the answer (at most
	// cancelSettleTimeout): when the call returns, its transaction has
	// either committed or rolled back, so a cancelled write that returns an
	// error is not committed behind the caller's back. pgx's default closes
	// the connection at once, leaving the outcome to the server. (Not for
	// the listener, whose waits end by cancellation all the time.)
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: cancelSettleTimeout}
	}
}

// Close sends the notifications of the writes that have just committed
// (waiting at most a second for the server), stops the listener, closes
// the watchers' channels and the connection pool. Message stores handed out fail with ErrClosed afterwards.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.notifier.close()
	s.listener.close()
	err := s.db.Close()
	s.pool.Close()
	if s.reads != nil {
		for _, sb := range s.reads.standbys {
			sb.pool.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("messagedb: postgres: close: %v", err)
	}
	return nil
}

// SchemaName returns the schema of a namespace: "messagedb_" and the id.
// Namespace ids are validated (domain.ValidateNamespaceID), so the name is
// a plain identifier of at most 60 bytes, never a reserved or pg_ name, and
// two ids never share a schema.
func SchemaName(namespaceID string) string { return SchemaPrefix + namespaceID }

// NotifyChannel returns the LISTEN/NOTIFY channel on which writes to a
// category of a namespace are announced: "mdb_" and 24 hex digits of the MD5
// of "<schema>:<category>", so that it is an identifier within PostgreSQL's
// 63 bytes whatever the names. The namespace's notify_channel(category)
// function computes the same.
func NotifyChannel(namespaceID, category string) string {
	sum := md5.Sum([]byte(SchemaName(namespaceID) + ":" + category))
	return "mdb_" + hex.EncodeToString(sum[:])[:24]
}

// registryRow is a row of the registry of namespaces.
type registryRow struct {
	bun.BaseModel `bun:"table:namespaces,alias:n"`

	ID          string    `bun:"id,pk"`
	SchemaName  string    `bun:"schema_name"`
	Description string    `bun:"description"`
	CreatedAt   time.Time `bun:"created_at,nullzero,default:now()"`
}

func (r registryRow) namespace() domain.Namespace {
	return domain.Namespace{
		ID:          r.ID,
		Description: r.Description,
		CreatedAt:   r.CreatedAt.UTC(),
	}
}

// registry is the qualified registry table, for bun's ModelTableExpr.
func (s *Store) registry() (string, bun.Ident) {
	return "?.namespaces AS n", bun.Ident(s.mdSchema)
}

// CreateNamespace creates an empty namespace in one transaction: its
// registry row, its schema, the namespace migrations (Message DB's table,
// functions and views) and the privileges of opts.Grant's roles. On error
// nothing is left: neither schema nor row. A role that does not exist is an
// error matching domain.ErrInvalidRole.
func (s *Store) CreateNamespace(ctx context.Context, id string, opts domain.NamespaceOptions) (domain.Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return domain.Namespace{}, err
	}
	if err := opts.Validate(); err != nil {
		return domain.Namespace{}, err
	}
	if s.closed.Load() {
		return domain.Namespace{}, ErrClosed
	}
	schema := SchemaName(id)
	row := registryRow{ID: id, SchemaName: schema, Description: opts.Description}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		expr, ident := s.registry()
		if _, err := tx.NewInsert().Model(&row).ModelTableExpr(expr, ident).Returning("created_at").Exec(ctx); err != nil {
			if isUniqueViolation(err, "namespaces_pkey") || isUniqueViolation(err, "namespaces_schema_name_key") {
				return domain.NamespaceExists(id)
			}
			return dbError(ctx, "create namespace "+id, err)
		}
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
			if pe, ok := asPgError(err); ok && pe.Code == codeDuplicateSchema {
				return fmt.Errorf("%w (its schema %s exists already)", domain.NamespaceExists(id), schema)
			}
			return dbError(ctx, "create namespace "+id, err)
		}
		if err := s.migrator.ApplyNamespaceMigrationTx(ctx, tx.Tx, schema); err != nil {
			return migrationError(ctx, "create namespace "+id, err)
		}
		return s.grant(ctx, tx, id, schema, opts.Grant)
	})
	if err != nil {
		return domain.Namespace{}, s.closedOr(err)
	}
	s.reads.wrote()
	s.migrated.Store(id, []migrate.Migration(nil))
	return row.namespace(), nil
}

// grant gives each role what an application needs to use the namespace's
// schema, and to find it in the registry (see domain.NamespaceOptions.Grant),
// in the transaction tx that creates it. SELECT on every table of the schema
// covers the messages, the report views and the record of migrations (which
// a Store reads to know that nothing is left to migrate); EXECUTE on every
// function covers Message DB's and the import's.
//
// Granting on the registry changes its catalog rows, which concurrent
// creations would update at once ("tuple concurrently updated"): the grants
// on the registry serialise on a transaction-scoped advisory lock, and are
// skipped for a role that has them already.
func (s *Store) grant(ctx context.Context, tx bun.Tx, id, schema string, roles []string) error {
	if len(roles) == 0 {
		return nil
	}
	// Straight to database/sql: bun would read a "?" in a role's name as a
	// placeholder.
	exec := func(r, q string) error {
		if _, err := tx.Tx.ExecContext(ctx, q); err != nil {
			if pe, ok := asPgError(err); ok && pe.Code == codeUndefinedObject {
				return fmt.Errorf("messagedb: postgres: create namespace %q: role %q does not exist: %w", id, r, domain.ErrInvalidRole)
			}
			return dbError(ctx, "create namespace "+id+": grant to "+r, err)
		}
		return nil
	}
	for _, r := range roles {
		role := bunIdent(r)
		if err := exec(r, "GRANT USAGE ON SCHEMA "+schema+" TO "+role+";\n"+
			"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA "+schema+" TO "+role+";\n"+
			"GRANT SELECT ON ALL TABLES IN SCHEMA "+schema+" TO "+role+";\n"+
			"GRANT INSERT ON "+schema+".messages TO "+role+";\n"+
			"GRANT USAGE, SELECT ON SEQUENCE "+schema+".messages_global_position_seq TO "+role); err != nil {
			return err
		}
	}
	if err := exec("", fmt.Sprintf("SELECT pg_catalog.pg_advisory_xact_lock(%d)", domain.Hash64("messagedb.grant:"+s.mdSchema))); err != nil {
		return err
	}
	for _, r := range roles {
		var has bool
		err := tx.Tx.QueryRowContext(ctx, `SELECT pg_catalog.has_schema_privilege($1, $2, 'USAGE')
  AND pg_catalog.has_table_privilege($1, $3, 'SELECT') AND pg_catalog.has_table_privilege($1, $4, 'SELECT')`,
			r, s.mdSchema, s.mdSchema+".namespaces", s.mdSchema+".schema_migrations").Scan(&has)
		if err != nil {
			return dbError(ctx, "create namespace "+id+": grant to "+r, err)
		}
		if has {
			continue
		}
		role := bunIdent(r)
		if err := exec(r, "GRANT USAGE ON SCHEMA "+s.mdSchema+" TO "+role+";\n"+
			"GRANT SELECT ON "+s.mdSchema+".namespaces, "+s.mdSchema+".schema_migrations TO "+role); err != nil {
			return err
		}
	}
	return nil
}

// DeleteNamespace drops the namespace's schema with every message in it,
// and its registry row, in one transaction. It waits for transactions that
// use the schema to end.
func (s *Store) DeleteNamespace(ctx context.Context, id string) error {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var schema string
		expr, ident := s.registry()
		err := tx.NewDelete().Model((*registryRow)(nil)).ModelTableExpr(expr, ident).
			Where("n.id = ?", id).Returning("schema_name").Scan(ctx, &schema)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NamespaceNotFound(id)
		}
		if err != nil {
			return dbError(ctx, "delete namespace "+id, err)
		}
		if _, err := tx.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+bunIdent(schema)+" CASCADE"); err != nil {
			return dbError(ctx, "delete namespace "+id, err)
		}
		return nil
	})
	if err == nil {
		s.reads.wrote()
		s.migrated.Delete(id)
		_ = s.incarnations.End(id, domain.NamespaceNotFound(id), nil)
	}
	return s.closedOr(err)
}

// GetNamespace returns the namespace's registry entry.
func (s *Store) GetNamespace(ctx context.Context, id string) (domain.Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return domain.Namespace{}, err
	}
	row, err := s.lookup(ctx, id)
	if err != nil {
		return domain.Namespace{}, err
	}
	return row.namespace(), nil
}

// ListNamespaces returns every namespace, ordered by id.
func (s *Store) ListNamespaces(ctx context.Context) ([]domain.Namespace, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	var rows []registryRow
	expr, ident := s.registry()
	if err := s.db.NewSelect().Model(&rows).ModelTableExpr(expr, ident).OrderExpr(`n.id COLLATE "C"`).Scan(ctx); err != nil {
		return nil, s.closedOr(dbError(ctx, "list namespaces", err))
	}
	out := make([]domain.Namespace, len(rows))
	for i, r := range rows {
		out[i] = r.namespace()
	}
	return out, nil
}

// MessageStore returns the namespace's message store; see Namespace.
func (s *Store) MessageStore(ctx context.Context, namespaceID string) (ports.MessageStore, error) {
	n, err := s.Namespace(ctx, namespaceID)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Namespace returns the namespace's message store, which also implements
// ports.Importer and ports.Watcher. The first time a Store opens a
// namespace that it did not create, it applies the namespace migrations
// that the schema lacks (those added since the namespace was created).
func (s *Store) Namespace(ctx context.Context, id string) (*Namespace, error) {
	if err := domain.ValidateNamespaceID(id); err != nil {
		return nil, err // before the flag: keep no trace of an invalid id
	}
	// The flag is taken before the lookup: a delete that commits after the
	// lookup then marks this handle too.
	inc, err := s.incarnations.Take(id)
	if err != nil {
		return nil, err
	}
	row, err := s.lookup(ctx, id)
	if err == nil {
		if _, ok := s.migrated.Load(id); !ok {
			err = s.migrateNamespace(ctx, row)
		}
	}
	s.incarnations.Release(id, inc, err == nil)
	if err != nil {
		return nil, err
	}
	n := newNamespace(s, row.ID, row.SchemaName)
	n.inc = inc
	return n, nil
}

// migrateNamespace applies the namespace migrations that the namespace's
// schema lacks, when there are any (finding none takes nothing but SELECT,
// so a role the namespace is granted to opens it). Each transaction of a
// migration holds the namespace's registry row: a delete waits for it, and
// a namespace deleted meanwhile is not found rather than made again as a
// bare schema. A migration that runs in several transactions (the rebuild of
// the messages table) checks the row before it starts.
func (s *Store) migrateNamespace(ctx context.Context, row registryRow) error {
	guard := func(ctx context.Context, ex migrate.Execer) error {
		var one int
		err := ex.QueryRowContext(ctx, "SELECT 1 FROM "+s.mdSchema+".namespaces WHERE id = $1 FOR SHARE", row.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return domain.NamespaceNotFound(row.ID)
		}
		if err != nil {
			return dbError(ctx, "migrate namespace "+row.ID, err)
		}
		return nil
	}
	before, err := s.migrator.ApplyNamespaceMigrationGuarded(ctx, row.SchemaName, guard)
	if err != nil {
		return s.closedOr(migrationError(ctx, "migrate namespace "+row.ID, err))
	}
	// Not a write that reads wait for: a read that a standby without the
	// migration cannot serve goes to the primary.
	s.migrated.Store(row.ID, before)
	return nil
}

// lookup reads the registry row of namespace id, which the caller has
// validated.
func (s *Store) lookup(ctx context.Context, id string) (registryRow, error) {
	var row registryRow
	if s.closed.Load() {
		return row, ErrClosed
	}
	expr, ident := s.registry()
	err := s.db.NewSelect().Model(&row).ModelTableExpr(expr, ident).Where("n.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return row, domain.NamespaceNotFound(id)
	}
	if err != nil {
		return row, s.closedOr(dbError(ctx, "get namespace "+id, err))
	}
	return row, nil
}

// closedOr returns ErrClosed for an error caused by the Store being closed
// meanwhile, else err.
func (s *Store) closedOr(err error) error {
	if err != nil && s.closed.Load() {
		return fmt.Errorf("%w (%v)", ErrClosed, err)
	}
	return err
}

// bunIdent quotes a SQL identifier.
func bunIdent(name string) string {
	return pgx.Identifier{name}.Sanitize()
}
