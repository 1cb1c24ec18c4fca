package domain_test

import (
	"testing"

	"github.com/messagedb-go/messagedb/domain"
)

func TestHash64MatchesMessageDB(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"someStream", 2053039834977696644},
		{"", -3162216497309240828},
	}
	for _, tt := range tests {
		if got := domain.Hash64(tt.in); got != tt.want {
			t.Errorf("Hash64(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestGroupMember(t *testing.T) {
	// A stream without an id belongs to no member.
	for _, size := range []int64{1, 2, 5} {
		if _, ok := domain.GroupMember("account", size); ok {
			t.Errorf("GroupMember(account, %d) found a member for a stream without id", size)
		}
		for m := int64(0); m < size; m++ {
			if domain.IsMember("account", m, size) {
				t.Errorf("IsMember(account, %d, %d) = true", m, size)
			}
		}
	}
	// Size below 1 is no group.
	if _, ok := domain.GroupMember("account-1", 0); ok {
		t.Error("GroupMember with size 0 found a member")
	}
	// Compound ids go with their cardinal id, whatever the category.
	for size := int64(1); size <= 5; size++ {
		base, _ := domain.GroupMember("account-123", size)
		for _, s := range []string{"account-123+abc", "account-123+x+y", "account:command-123", "other-123"} {
			if m, _ := domain.GroupMember(s, size); m != base {
				t.Errorf("GroupMember(%q, %d) = %d, want %d like account-123", s, size, m, base)
			}
		}
	}
	// Exactly one member per stream, and it is abs(hash(cardinal id)) % size.
	for _, s := range []string{"account-1", "account-2", "account-someStream", "account-", "a-b-c"} {
		h := domain.Hash64(domain.CardinalID(s))
		if h < 0 {
			h = -h
		}
		for size := int64(1); size <= 7; size++ {
			n := 0
			for m := int64(0); m < size; m++ {
				if domain.IsMember(s, m, size) {
					n++
					if m != h%size {
						t.Errorf("%s in member %d of %d, want %d", s, m, size, h%size)
					}
				}
			}
			if n != 1 {
				t.Errorf("%s belongs to %d members of %d, want 1", s, n, size)
			}
		}
	}
	// "account-someStream": cardinal id "someStream", hash 2053039834977696644.
	if got, _ := domain.GroupHash("account-someStream"); got != 2053039834977696644 {
		t.Errorf("GroupHash(account-someStream) = %d", got)
	}
	// An empty id hashes "" like Message DB: abs(-3162216497309240828).
	if got, ok := domain.GroupHash("account-"); !ok || got != 3162216497309240828 {
		t.Errorf("GroupHash(account-) = %d, %v", got, ok)
	}
}
