package postgres

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parameters of a connection URL (or keyword/value DSN) that this package
// reads, and takes out before the rest goes to pgx.
const (
	// paramStandbyHosts lists hot standbys of the primary, comma
	// separated, each HOST, HOST:PORT, [IPv6]:PORT or a Unix socket
	// directory: they are reached as the primary is, but for host and port.
	paramStandbyHosts = "standby_hosts"
	// paramMaxStandbyLag is Options.MaxStandbyLag, as a Go duration ("2s").
	paramMaxStandbyLag = "max_standby_lag"
)

// standbyParams are the standby parameters of a connection string.
type standbyParams struct {
	hosts  []string
	maxLag time.Duration // 0 when absent
}

// takeStandbyParams removes the standby parameters from conn, a URL or a
// keyword/value DSN, leaving every other parameter as it was written, and
// returns them. Errors do not quote conn, which may hold a password.
func takeStandbyParams(conn string) (string, standbyParams, error) {
	var p standbyParams
	var rest string
	var values map[string]string
	var err error
	conn = lowerScheme(conn)
	if isURL(conn) {
		rest, values, err = takeURLParams(conn, paramStandbyHosts, paramMaxStandbyLag)
	} else {
		rest, values, err = takeDSNParams(conn, paramStandbyHosts, paramMaxStandbyLag)
	}
	if err != nil {
		return "", p, err
	}
	if v, ok := values[paramStandbyHosts]; ok {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h == "" {
				return "", p, fmt.Errorf("%s: an empty host in %q", paramStandbyHosts, v)
			}
			p.hosts = append(p.hosts, h)
		}
	}
	if v, ok := values[paramMaxStandbyLag]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return "", p, fmt.Errorf("%s=%s (use a positive duration such as 2s)", paramMaxStandbyLag, v)
		}
		p.maxLag = d
	}
	return rest, p, nil
}

// lowerScheme returns conn with the scheme of a PostgreSQL URL in lower
// case, as pgx reads it: POSTGRES://… is a URL as postgres://… is. A
// keyword/value DSN is returned as it is.
func lowerScheme(conn string) string {
	scheme, rest, ok := strings.Cut(conn, "://")
	if ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql")) {
		return strings.ToLower(scheme) + "://" + rest
	}
	return conn
}

// isURL reports whether conn, its scheme in lower case, is a URL rather
// than a keyword/value DSN.
func isURL(conn string) bool {
	return strings.HasPrefix(conn, "postgres://") || strings.HasPrefix(conn, "postgresql://")
}

// takeURLParams removes the query parameters names from a URL, keeping the
// others (and any fragment) as written, and returns their (last) values.
func takeURLParams(raw string, names ...string) (string, map[string]string, error) {
	values := map[string]string{}
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw, values, nil
	}
	frag := ""
	if i := strings.IndexByte(query, '#'); i >= 0 {
		query, frag = query[:i], query[i:]
	}
	var keep []string
	for kv := range strings.SplitSeq(query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		key, err := url.QueryUnescape(k)
		if err != nil || !slices.Contains(names, key) {
			keep = append(keep, kv)
			continue
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return "", nil, fmt.Errorf("malformed %s", key)
		}
		values[key] = val
	}
	if len(keep) == 0 {
		return base + frag, values, nil
	}
	return base + "?" + strings.Join(keep, "&") + frag, values, nil
}

// takeDSNParams removes the keywords names from a keyword/value DSN
// ("host=a dbname='my db'"), keeping the others as written, and returns
// their (last) values. Values are read as libpq reads them: up to white
// space, or between single quotes, with \ escaping the next character.
func takeDSNParams(dsn string, names ...string) (string, map[string]string, error) {
	values := map[string]string{}
	var out strings.Builder
	i := 0
	for {
		start := i
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		if i == len(dsn) {
			out.WriteString(dsn[start:])
			return strings.TrimSpace(out.String()), values, nil
		}
		k := i
		for i < len(dsn) && dsn[i] != '=' && !isSpace(dsn[i]) {
			i++
		}
		key := dsn[k:i]
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		if i == len(dsn) || dsn[i] != '=' {
			return "", nil, errors.New("malformed keyword/value connection string")
		}
		i++
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		var val strings.Builder
		if i < len(dsn) && dsn[i] == '\'' {
			i++
			for ; i < len(dsn) && dsn[i] != '\''; i++ {
				if dsn[i] == '\\' && i+1 < len(dsn) {
					i++
				}
				val.WriteByte(dsn[i])
			}
			if i == len(dsn) {
				return "", nil, errors.New("unterminated quoted value in the connection string")
			}
			i++
		} else {
			for ; i < len(dsn) && !isSpace(dsn[i]); i++ {
				if dsn[i] == '\\' && i+1 < len(dsn) {
					i++
				}
				val.WriteByte(dsn[i])
			}
		}
		if slices.Contains(names, key) {
			values[key] = val.String()
			continue
		}
		out.WriteString(dsn[start:i])
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// splitHostPort splits a standby host, HOST, HOST:PORT or [IPv6]:PORT; a
// Unix socket directory (starting with /) has no port.
func splitHostPort(h string) (host, port string, err error) {
	switch {
	case strings.HasPrefix(h, "/"):
		return h, "", nil
	case strings.HasPrefix(h, "["):
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", fmt.Errorf("%s: %q lacks its ]", paramStandbyHosts, h)
		}
		var rest string
		host, rest = h[1:end], h[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", fmt.Errorf("%s: %q: what follows ] is not a port", paramStandbyHosts, h)
		}
		port = rest[1:]
	default:
		var ok bool
		if host, port, ok = strings.Cut(h, ":"); !ok {
			return h, "", nil
		}
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", fmt.Errorf("%s: %q: port %q is not a port number", paramStandbyHosts, h, port)
	}
	return host, port, nil
}

// standbyConnString returns the connection string of a standby at host
// (see splitHostPort) reached as the primary's conn is: the same user,
// password, database and parameters, but the host, the port (the
// primary's, defaultPort, when host names none) and no
// target_session_attrs (a standby is read-only).
func standbyConnString(conn, host string, defaultPort uint16) (string, error) {
	h, port, err := splitHostPort(host)
	if err != nil {
		return "", err
	}
	if port == "" {
		port = strconv.Itoa(int(defaultPort))
	}
	if isURL(conn) {
		// Query parameters override the URL's hosts and ports, the last
		// occurrence winning.
		sep := "?"
		if strings.Contains(conn, "?") {
			sep = "&"
		}
		return conn + sep + url.Values{"host": {h}, "port": {port}, "target_session_attrs": {"any"}}.Encode(), nil
	}
	quote := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return fmt.Sprintf("%s host='%s' port=%s target_session_attrs=any", conn, quote.Replace(h), port), nil
}
