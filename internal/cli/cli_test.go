package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	var b bytes.Buffer
	l, err := newLogger(&b, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	l.Info("serving", "endpoint", "unix:///run/x.sock")
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON object: %v: %q", err, b.String())
	}
	if rec["msg"] != "serving" || rec["level"] != "INFO" || rec["endpoint"] != "unix:///run/x.sock" {
		t.Errorf("record %v", rec)
	}
	b.Reset()
	if l, err = newLogger(&b, "warn", "text"); err != nil {
		t.Fatal(err)
	}
	l.Warn("w", "k", "v")
	if !strings.Contains(b.String(), "level=WARN msg=w k=v") {
		t.Errorf("text: %q", b.String())
	}
	for _, lv := range []string{"trace", "warning", "fatal", "panic", "debug", "error"} {
		if _, err := newLogger(&b, lv, "text"); err != nil {
			t.Errorf("level %q (cri-dockerd's): %v", lv, err)
		}
	}
	for _, bad := range [][2]string{{"loud", "text"}, {"info", "yaml"}} {
		if _, err := newLogger(&b, bad[0], bad[1]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
