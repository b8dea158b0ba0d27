package cri

import (
	"testing"
	"time"
)

func TestImageRefMemo(t *testing.T) {
	var m imageRefMemo
	now := time.Unix(1000, 0)
	if _, ok, _ := m.get("a", now); ok {
		t.Fatal("empty memo has an entry")
	}
	_, _, gen := m.get("a", now)
	m.put("a", imageNames{ref: "repo@sha256:1", tag: "repo:1"}, gen, now)
	if n, ok, _ := m.get("a", now.Add(imageRefTTL-time.Second)); !ok || n.ref != "repo@sha256:1" || n.tag != "repo:1" {
		t.Fatalf("within the TTL: %+v %v", n, ok)
	}
	if _, ok, _ := m.get("a", now.Add(imageRefTTL)); ok {
		t.Fatal("expired entry still served")
	}

	// A lookup that began before a pull must not store its (old) answer.
	_, _, gen = m.get("b", now)
	m.forget()
	m.put("b", imageNames{ref: "stale"}, gen, now)
	if _, ok, _ := m.get("b", now); ok {
		t.Fatal("answer from before forget was stored")
	}
	if _, ok, _ := m.get("a", now); ok {
		t.Fatal("forget kept an entry")
	}

	// The memo stays bounded.
	_, _, gen = m.get("", now)
	for i := range imageRefMemoMax * 3 {
		m.put(string(rune('a'+i%26))+time.Duration(i).String(), imageNames{}, gen, now)
	}
	if len(m.m) > imageRefMemoMax {
		t.Fatalf("memo grew to %d entries", len(m.m))
	}
}
