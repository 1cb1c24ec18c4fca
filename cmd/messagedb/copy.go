package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/messagedb-go/messagedb/app"
	"github.com/messagedb-go/messagedb/domain"
)

var copyCommand = command{
	name:    "copy",
	args:    "--to URL [--to-namespace ID] [--resume] [--batch N]",
	minArgs: 0,
	maxArgs: 0,
	short:   "copy the namespace to another store, keeping positions",
	long: `
Copies every message of the namespace (--db, --namespace) into a namespace of
the store --to (default: the same store, then --to-namespace must differ),
keeping message ids, stream positions, global positions and times: reads of
the copy print what reads of the original print. The target namespace
(--to-namespace, default the same id) is created if missing.

The target must be empty: copy refuses a namespace holding messages, unless
--resume is given and they are the start of the source (an interrupted copy),
in which case it goes on after them. Messages are imported in batches of
--batch, each all or nothing, so an interrupted copy can always be resumed.
On a terminal a progress bar is drawn on standard error.`,
	setup: func(fs *flag.FlagSet) runner {
		to := fs.String("to", "", "`URL` of the target store (default: the source store)")
		toNS := fs.String("to-namespace", "", "target namespace `ID` (default: the source namespace's id)")
		resume := fs.Bool("resume", false, "continue an interrupted copy into a non-empty target")
		batch := fs.Int64("batch", domain.DefaultBatchSize, "`N` messages per imported batch")
		return func(ctx context.Context, c *cli, args []string) error {
			if *to == "" && *toNS == "" {
				return usagef("copy: give --to URL, --to-namespace ID, or both")
			}
			if *batch < 1 {
				return usagef("copy: --batch must be 1 or more")
			}
			targetURL, targetID := *to, *toNS
			if targetURL == "" {
				targetURL = c.dbURL()
			}
			if targetID == "" {
				targetID = c.namespace
			}
			same := targetURL == c.dbURL()
			if same && targetID == c.namespace {
				return usagef("copy: the target is the source (%s in %s)", targetID, redact(targetURL))
			}
			if err := domain.ValidateNamespaceID(targetID); err != nil {
				return err
			}
			src, err := c.existing(ctx)
			if err != nil {
				return err
			}
			srcInfo, err := c.store.GetNamespace(ctx, c.namespace)
			if err != nil {
				return err
			}
			target := c.store
			if !same {
				if target, err = app.Open(ctx, targetURL, &app.Options{Getenv: c.env}); err != nil {
					return domain.Wrapf(err, "open target")
				}
				defer target.Close()
			}
			dst, err := target.EnsureNamespace(ctx, targetID, domain.NamespaceOptions{Description: srcInfo.Description})
			if err != nil {
				return domain.Wrapf(err, "target")
			}

			opts := app.CopyOptions{BatchSize: *batch, Resume: *resume}
			var bar *progressBar
			if isTerminal(c.stderr) {
				bar = newProgressBar(c.stderr, fmt.Sprintf("copy %s to %s", c.namespace, targetID))
				opts.Progress = bar.update
			}
			res, err := app.CopyNamespace(ctx, src, dst, opts)
			if bar != nil {
				bar.finish()
			}
			if err != nil {
				if errors.Is(err, app.ErrTargetNotEmpty) && !*resume {
					return fmt.Errorf("%w; add --resume to continue an interrupted copy", err)
				}
				if ctx.Err() != nil {
					return fmt.Errorf("copy interrupted after %d message(s); run it again with --resume to continue", res.Copied)
				}
				return fmt.Errorf("after %d message(s): %w (run it again with --resume to continue)", res.Copied, err)
			}
			if c.json {
				return c.emitJSON(struct {
					Namespace          string `json:"namespace"`
					To                 string `json:"to"`
					ToNamespace        string `json:"toNamespace"`
					Copied             int64  `json:"copied"`
					Kept               int64  `json:"kept"`
					LastGlobalPosition int64  `json:"lastGlobalPosition"`
				}{c.namespace, redact(targetURL), targetID, res.Copied, res.Kept, res.LastGlobalPosition})
			}
			_, err = fmt.Fprintf(c.stdout, "copied %d message(s) from namespace %s to namespace %s in %s (%d already there); last global position %d\n",
				res.Copied, c.namespace, targetID, redact(targetURL), res.Kept, res.LastGlobalPosition)
			return err
		}
	},
}

// redact masks a password in a URL.
func redact(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			if userinfo := rest[:at]; strings.Contains(userinfo, ":") {
				user, _, _ := strings.Cut(userinfo, ":")
				return raw[:i+3] + user + ":xxxxx" + rest[at:]
			}
		}
	}
	return raw
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws one line, redrawn in place with \r: a bar, done/total,
// percentage and rate.
type progressBar struct {
	w          io.Writer
	label      string
	start      time.Time
	lastDraw   time.Time
	done, tot  int64
	drawnWidth int
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, start: time.Now()}
}

const barWidth = 30

func (p *progressBar) update(done, total int64) {
	p.done, p.tot = done, total
	// Redraw at most ten times a second.
	if now := time.Now(); now.Sub(p.lastDraw) >= 100*time.Millisecond || done >= total {
		p.lastDraw = now
		p.draw()
	}
}

func (p *progressBar) draw() {
	total := max(p.tot, p.done)
	frac := 1.0
	if total > 0 {
		frac = float64(p.done) / float64(total)
	}
	filled := int(frac * barWidth)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	rate := 0.0
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		rate = float64(p.done) / secs
	}
	line := fmt.Sprintf("%s [%s] %d/%d %3.0f%% %.0f msg/s", p.label, bar, p.done, total, frac*100, rate)
	pad := max(p.drawnWidth-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.drawnWidth = len(line)
}

// finish draws the final state and ends the line.
func (p *progressBar) finish() {
	p.draw()
	fmt.Fprintln(p.w)
}
