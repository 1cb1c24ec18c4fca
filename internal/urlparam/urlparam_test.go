package urlparam

import "testing"

func TestParseMaxMessageSize(t *testing.T) {
	for v, want := range map[string]int64{"0": 0, "100": 100, "-1": -1, "4194304": 4194304} {
		if got, err := ParseMaxMessageSize(v); err != nil || got != want {
			t.Errorf("ParseMaxMessageSize(%q) = %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"", "1MiB", "big", "1.5", "9223372036854775808"} {
		if _, err := ParseMaxMessageSize(v); err == nil {
			t.Errorf("ParseMaxMessageSize(%q): no error", v)
		}
	}
}
