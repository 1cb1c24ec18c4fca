package domain_test

import (
	"errors"
	"testing"

	"github.com/messagedb-go/messagedb/domain"
)

func TestExpectedVersion(t *testing.T) {
	if _, ok := domain.AnyVersion.Value(); ok {
		t.Fatal("AnyVersion checks a version")
	}
	var zero domain.ExpectedVersion
	if zero != domain.AnyVersion {
		t.Fatal("the zero ExpectedVersion is not AnyVersion")
	}
	for _, actual := range []int64{-1, 0, 7} {
		if err := domain.AnyVersion.Check("a-1", actual); err != nil {
			t.Errorf("AnyVersion.Check(%d) = %v", actual, err)
		}
	}
	if err := domain.ExpectVersion(domain.NoStream).Check("a-1", -1); err != nil {
		t.Errorf("NoStream on an empty stream: %v", err)
	}
	err := domain.ExpectVersion(domain.NoStream).Check("a-1", 0)
	var vc *domain.VersionConflictError
	if !errors.As(err, &vc) || !errors.Is(err, domain.ErrVersionConflict) {
		t.Fatalf("NoStream on a stream with a message: %v, want *VersionConflictError", err)
	}
	if vc.StreamName != "a-1" || vc.Expected != -1 || vc.Actual != 0 {
		t.Errorf("conflict = %+v", *vc)
	}
	if err := domain.ExpectVersion(3).Check("a-1", 3); err != nil {
		t.Errorf("matching version: %v", err)
	}
	for _, actual := range []int64{-1, 2, 4} {
		err := domain.ExpectVersion(3).Check("a-1", actual)
		if !errors.As(err, &vc) || vc.StreamName != "a-1" || vc.Expected != 3 || vc.Actual != actual {
			t.Errorf("ExpectVersion(3).Check(%d) = %v, want a conflict 3 vs %d", actual, err, actual)
		}
	}
	if err := domain.ExpectVersion(-2).Validate(); !errors.Is(err, domain.ErrInvalidExpectedVersion) || !errors.Is(err, domain.ErrInvalidOptions) {
		t.Errorf("Validate(-2) = %v", err)
	}
	for _, v := range []int64{-1, 0, 100} {
		if err := domain.ExpectVersion(v).Validate(); err != nil {
			t.Errorf("Validate(%d) = %v", v, err)
		}
	}
	if domain.AnyVersion.String() != "any" || domain.ExpectVersion(4).String() != "4" {
		t.Error("String")
	}
}
