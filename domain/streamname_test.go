package domain_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/messagedb-go/messagedb/domain"
)

func TestStreamNameParts(t *testing.T) {
	tests := []struct {
		name, category, id, cardinal string
		isCategory                   bool
	}{
		{"account-123", "account", "123", "123", false},
		{"account", "account", "", "", true},
		{"a-1-2", "a", "1-2", "1-2", false},
		{"account-123+abc", "account", "123+abc", "123", false},
		{"account-123+abc+def", "account", "123+abc+def", "123", false},
		{"account:command-1", "account:command", "1", "1", false},
		{"account:command+position-worker", "account:command+position", "worker", "worker", false},
		{"account:command", "account:command", "", "", true},
		{"account-+abc", "account", "+abc", "", false},
		{"account-", "account", "", "", false},
		{"-1", "", "1", "1", false},
		{"", "", "", "", true},
		{"-", "", "", "", false},
		{"ünïcödé-日本", "ünïcödé", "日本", "日本", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.Category(tt.name); got != tt.category {
				t.Errorf("Category(%q) = %q, want %q", tt.name, got, tt.category)
			}
			if got := domain.ID(tt.name); got != tt.id {
				t.Errorf("ID(%q) = %q, want %q", tt.name, got, tt.id)
			}
			if got := domain.CardinalID(tt.name); got != tt.cardinal {
				t.Errorf("CardinalID(%q) = %q, want %q", tt.name, got, tt.cardinal)
			}
			if got := domain.IsCategory(tt.name); got != tt.isCategory {
				t.Errorf("IsCategory(%q) = %v, want %v", tt.name, got, tt.isCategory)
			}
		})
	}
}

func TestCategoryTypeIsNotItsBaseCategory(t *testing.T) {
	if got := domain.Category("account:command-1"); got == "account" {
		t.Fatalf("account:command-1 must not be in category account")
	}
}

func TestValidateStreamName(t *testing.T) {
	valid := []string{"account-1", "account:command-1", "account-1+a", "a-b-c", "日本-1", "account--1"}
	for _, n := range valid {
		if err := domain.ValidateStreamName(n); err != nil {
			t.Errorf("ValidateStreamName(%q) = %v, want nil", n, err)
		}
	}
	invalid := []string{"", "account", "-1", "account-", "-", "a\x00-1", "a-\xff", "account:command"}
	for _, n := range invalid {
		if err := domain.ValidateStreamName(n); !errors.Is(err, domain.ErrInvalidStreamName) {
			t.Errorf("ValidateStreamName(%q) = %v, want ErrInvalidStreamName", n, err)
		}
	}
}

func TestValidateCategory(t *testing.T) {
	for _, n := range []string{"account", "account:command", "account:command+position"} {
		if err := domain.ValidateCategory(n); err != nil {
			t.Errorf("ValidateCategory(%q) = %v, want nil", n, err)
		}
	}
	for _, n := range []string{"", "account-1", "-", "a\x00", "\xfe"} {
		if err := domain.ValidateCategory(n); !errors.Is(err, domain.ErrInvalidStreamName) {
			t.Errorf("ValidateCategory(%q) = %v, want ErrInvalidStreamName", n, err)
		}
	}
}

// streamNameRule is ValidateStreamName's rule, written independently.
func streamNameRule(name string) bool {
	cat, id, found := strings.Cut(name, "-")
	return found && cat != "" && id != "" && utf8.ValidString(name) && !strings.Contains(name, "\x00")
}

// categoryRule is ValidateCategory's rule, written independently.
func categoryRule(name string) bool {
	return name != "" && !strings.Contains(name, "-") && utf8.ValidString(name) && !strings.Contains(name, "\x00")
}

func FuzzStreamName(f *testing.F) {
	for _, s := range []string{"account-123+abc", "account", "", "-", "a-1-2", "account:command-1", "+-+", "\xff-\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		cat, id, card := domain.Category(name), domain.ID(name), domain.CardinalID(name)
		err := domain.ValidateStreamName(name)
		if ok := streamNameRule(name); ok != (err == nil) {
			t.Fatalf("ValidateStreamName(%q) = %v; the rule says valid = %v", name, err, ok)
		}
		if err != nil && !errors.Is(err, domain.ErrInvalidStreamName) {
			t.Fatalf("ValidateStreamName(%q) = %v, not ErrInvalidStreamName", name, err)
		}
		catErr := domain.ValidateCategory(name)
		if ok := categoryRule(name); ok != (catErr == nil) {
			t.Fatalf("ValidateCategory(%q) = %v; the rule says valid = %v", name, catErr, ok)
		}
		if err == nil && domain.ValidateCategory(cat) != nil {
			t.Fatalf("the category %q of the valid stream %q is not a valid category", cat, name)
		}
		if m, ok := domain.GroupMember(name, 3); ok && (m < 0 || m >= 3) {
			t.Fatalf("GroupMember(%q, 3) = %d, outside [0, 3)", name, m)
		}
		if strings.Contains(name, "-") {
			if cat+"-"+id != name {
				t.Fatalf("Category+\"-\"+ID = %q, want %q", cat+"-"+id, name)
			}
			if domain.IsCategory(name) {
				t.Fatalf("IsCategory(%q) = true for a name with -", name)
			}
			if strings.Contains(cat, "-") {
				t.Fatalf("Category(%q) = %q contains -", name, cat)
			}
			if !strings.HasPrefix(id, card) || strings.Contains(card, "+") {
				t.Fatalf("CardinalID(%q) = %q is not the id %q up to its first +", name, card, id)
			}
		} else if cat != name || id != "" || card != "" || !domain.IsCategory(name) {
			t.Fatalf("name without -: Category=%q ID=%q CardinalID=%q", cat, id, card)
		}
	})
}
