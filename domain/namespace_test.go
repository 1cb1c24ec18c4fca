package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/messagedb-go/messagedb/domain"
)

func TestValidateNamespaceID(t *testing.T) {
	for _, id := range []string{"a", "default", "a_b", "tenant_42", strings.Repeat("x", domain.MaxNamespaceIDLength)} {
		if err := domain.ValidateNamespaceID(id); err != nil {
			t.Errorf("ValidateNamespaceID(%q) = %v", id, err)
		}
	}
	// a-b must be refused rather than mapped onto a_b: two ids never share a
	// schema or a file.
	for _, id := range []string{"", "a-b", "A", "Tenant", "1a", "_a", "a b", "a.b", "../x", "a/b", "é",
		strings.Repeat("x", domain.MaxNamespaceIDLength+1), "a\x00"} {
		if err := domain.ValidateNamespaceID(id); !errors.Is(err, domain.ErrInvalidNamespace) {
			t.Errorf("ValidateNamespaceID(%q) = %v, want ErrInvalidNamespace", id, err)
		}
	}
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	var err error = &domain.VersionConflictError{StreamName: "a-1", Expected: 1, Actual: 2}
	if !errors.Is(err, domain.ErrVersionConflict) || errors.Is(err, domain.ErrMigrationFailed) {
		t.Error("VersionConflictError must match ErrVersionConflict only")
	}
	for _, e := range []error{domain.ErrInvalidPosition, domain.ErrInvalidBatchSize, domain.ErrInvalidConsumerGroup,
		domain.ErrInvalidCorrelation, domain.ErrInvalidExpectedVersion} {
		if !errors.Is(e, domain.ErrInvalidOptions) {
			t.Errorf("%v does not match ErrInvalidOptions", e)
		}
	}
}

func TestNamespaceOptions_Validate(t *testing.T) {
	for _, o := range []domain.NamespaceOptions{{}, {Description: "x'); DROP --"}, {Description: "ünï"}} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	for _, o := range []domain.NamespaceOptions{{Description: "\x00"}, {Description: "\xff"}, {Description: "a\x00"}, {Description: "\xc3"}} {
		if err := o.Validate(); !errors.Is(err, domain.ErrInvalidOptions) {
			t.Errorf("%+v: %v, want ErrInvalidOptions", o, err)
		}
	}
}

func TestValidateRoleName(t *testing.T) {
	for _, r := range []string{"app", "App", "message_store", "a-b c", "ünïcode", `x"; DROP ROLE y; --`,
		strings.Repeat("r", domain.MaxRoleNameLength), "PUBLIC", "pg"} {
		if err := domain.ValidateRoleName(r); err != nil {
			t.Errorf("ValidateRoleName(%q) = %v", r, err)
		}
	}
	for _, r := range []string{"", "public", "none", "pg_read_all_data", "pg_", "a\x00b", "a\nb", "\xff",
		strings.Repeat("r", domain.MaxRoleNameLength+1)} {
		err := domain.ValidateRoleName(r)
		if !errors.Is(err, domain.ErrInvalidRole) || !errors.Is(err, domain.ErrInvalidOptions) {
			t.Errorf("ValidateRoleName(%q) = %v, want ErrInvalidRole (an ErrInvalidOptions)", r, err)
		}
		if err := (domain.NamespaceOptions{Grant: []string{"app", r}}).Validate(); !errors.Is(err, domain.ErrInvalidRole) {
			t.Errorf("NamespaceOptions{Grant: [app %q]}.Validate() = %v, want ErrInvalidRole", r, err)
		}
	}
	if err := (domain.NamespaceOptions{Grant: []string{"app", "reader"}}).Validate(); err != nil {
		t.Errorf("valid grants: %v", err)
	}
}
