package domain_test

import (
	"errors"
	"testing"

	"github.com/messagedb-go/messagedb/domain"
)

func TestMDB001_1A_T8_GetOptsValidation(t *testing.T) {
	tests := []struct {
		name      string
		opts      domain.GetOpts
		wantErr   error
		wantLimit int64
	}{
		{"zero value is the defaults", domain.GetOpts{}, nil, 1000},
		{"position inclusive", domain.GetOpts{Position: 5}, nil, 1000},
		{"unlimited", domain.GetOpts{BatchSize: new(int64(-1))}, nil, -1},
		{"no messages", domain.GetOpts{BatchSize: new(int64(0))}, nil, 0},
		{"ten", domain.GetOpts{BatchSize: new(int64(10))}, nil, 10},
		{"negative position", domain.GetOpts{Position: -1}, domain.ErrInvalidPosition, 0},
		{"batch below -1", domain.GetOpts{BatchSize: new(int64(-2))}, domain.ErrInvalidBatchSize, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, domain.ErrInvalidOptions) {
					t.Fatalf("Validate() = %v, want %v (and ErrInvalidOptions)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got := tt.opts.Limit(); got != tt.wantLimit {
				t.Errorf("Limit() = %d, want %d", got, tt.wantLimit)
			}
		})
	}
}

func TestMDB001_1A_T9_CategoryOptsValidation(t *testing.T) {
	group := func(m, s int64) *domain.ConsumerGroup { return &domain.ConsumerGroup{Member: m, Size: s} }
	tests := []struct {
		name      string
		opts      domain.CategoryOpts
		wantErr   error
		wantStart int64
		wantLimit int64
	}{
		{"zero value is the defaults", domain.CategoryOpts{}, nil, 1, 1000},
		{"global position inclusive", domain.CategoryOpts{Position: 42}, nil, 42, 1000},
		{"position 1", domain.CategoryOpts{Position: 1}, nil, 1, 1000},
		{"unlimited", domain.CategoryOpts{BatchSize: new(int64(-1))}, nil, 1, -1},
		{"no messages", domain.CategoryOpts{BatchSize: new(int64(0))}, nil, 1, 0},
		{"group of one", domain.CategoryOpts{ConsumerGroup: group(0, 1)}, nil, 1, 1000},
		{"last member", domain.CategoryOpts{ConsumerGroup: group(4, 5)}, nil, 1, 1000},
		{"correlation category", domain.CategoryOpts{Correlation: "other"}, nil, 1, 1000},
		{"correlation category type", domain.CategoryOpts{Correlation: "other:command"}, nil, 1, 1000},
		{"negative position", domain.CategoryOpts{Position: -1}, domain.ErrInvalidPosition, 0, 0},
		{"batch below -1", domain.CategoryOpts{BatchSize: new(int64(-5))}, domain.ErrInvalidBatchSize, 0, 0},
		{"group size 0", domain.CategoryOpts{ConsumerGroup: group(0, 0)}, domain.ErrInvalidConsumerGroup, 0, 0},
		{"group size negative", domain.CategoryOpts{ConsumerGroup: group(0, -3)}, domain.ErrInvalidConsumerGroup, 0, 0},
		{"member negative", domain.CategoryOpts{ConsumerGroup: group(-1, 3)}, domain.ErrInvalidConsumerGroup, 0, 0},
		{"member equal to size", domain.CategoryOpts{ConsumerGroup: group(3, 3)}, domain.ErrInvalidConsumerGroup, 0, 0},
		{"correlation stream", domain.CategoryOpts{Correlation: "other-1"}, domain.ErrInvalidCorrelation, 0, 0},
		{"correlation NUL", domain.CategoryOpts{Correlation: "a\x00"}, domain.ErrInvalidCorrelation, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, domain.ErrInvalidOptions) {
					t.Fatalf("Validate() = %v, want %v (and ErrInvalidOptions)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got := tt.opts.StartPosition(); got != tt.wantStart {
				t.Errorf("StartPosition() = %d, want %d", got, tt.wantStart)
			}
			if got := tt.opts.Limit(); got != tt.wantLimit {
				t.Errorf("Limit() = %d, want %d", got, tt.wantLimit)
			}
		})
	}
}

func TestAllOpts(t *testing.T) {
	o := domain.AllOpts{Position: 3, BatchSize: new(int64(10))}
	if err := o.Validate(); err != nil || o.StartPosition() != 3 || o.Limit() != 10 {
		t.Errorf("%+v: %v, start %d, limit %d", o, err, o.StartPosition(), o.Limit())
	}
	if z := (domain.AllOpts{}); z.StartPosition() != domain.FirstGlobalPosition || z.Limit() != domain.DefaultBatchSize {
		t.Errorf("zero value: start %d, limit %d", z.StartPosition(), z.Limit())
	}
	for o, want := range map[domain.AllOpts]error{
		{Position: -1}:                     domain.ErrInvalidPosition,
		{BatchSize: new(int64(-2))}:        domain.ErrInvalidBatchSize,
		{Position: -1, BatchSize: nil}:     domain.ErrInvalidPosition,
		{BatchSize: new(domain.Unlimited)}: nil,
	} {
		err := o.Validate()
		if !errors.Is(err, want) || (want != nil && !errors.Is(err, domain.ErrInvalidOptions)) {
			t.Errorf("Validate(%+v) = %v, want %v", o, err, want)
		}
	}
}
