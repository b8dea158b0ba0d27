package playcli

import "testing"

func TestIndexRanges(t *testing.T) {
	for want, idx := range map[string][]int32{"": nil, "0": {0}, "0-2,4": {0, 1, 2, 4}, "1,3,5-6": {1, 3, 5, 6}} {
		if got := indexRanges(idx); got != want {
			t.Errorf("%v: %q, want %q", idx, got, want)
		}
	}
}
