package naming

import (
	"errors"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		in     Name
		want   string
	}{
		{"default prefix", "", Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Attempt: 2}, "k8s_app_web_default_u1_2"},
		{"custom prefix", "dltkit", Name{Container: "app", Pod: "web", Namespace: "ns", UID: "u1"}, "dltkit_app_web_ns_u1_0"},
		{"prefix with underscore", "dltkit_t", Name{Container: "c", Pod: "p", Namespace: "n", UID: "u", Attempt: 7}, "dltkit_t_c_p_n_u_7"},
		{"max attempt", "", Name{Container: "c", Pod: "p", Namespace: "n", UID: "u", Attempt: 4294967295}, "k8s_c_p_n_u_4294967295"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.prefix).Build(tt.in); got != tt.want {
				t.Errorf("Build = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildSandbox(t *testing.T) {
	got := New("").BuildSandbox("web", "default", "u1", 3)
	if want := "k8s_POD_web_default_u1_3"; got != want {
		t.Errorf("BuildSandbox = %q, want %q", got, want)
	}
}

func TestNewEmptyPrefixIsDefault(t *testing.T) {
	if New("").Prefix != DefaultPrefix {
		t.Errorf("New(\"\").Prefix = %q, want %q", New("").Prefix, DefaultPrefix)
	}
	// The zero Namer behaves as the default prefix too.
	if _, err := (Namer{}).Parse("k8s_c_p_n_u_1"); err != nil {
		t.Errorf("zero Namer rejected a default-prefix name: %v", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		in      string
		want    Name
		wantErr string // substring of the error; "" means success
	}{
		{name: "plain", in: "k8s_app_web_default_u1_2",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Attempt: 2}},
		{name: "leading slash", in: "/k8s_app_web_default_u1_2",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Attempt: 2}},
		{name: "sandbox", in: "k8s_POD_web_default_u1_0",
			want: Name{Container: "POD", Pod: "web", Namespace: "default", UID: "u1"}},
		{name: "custom prefix", prefix: "dltkit", in: "/dltkit_app_web_ns_u1_4",
			want: Name{Container: "app", Pod: "web", Namespace: "ns", UID: "u1", Attempt: 4}},
		{name: "prefix containing underscore", prefix: "dltkit_t", in: "dltkit_t_app_web_ns_u1_4",
			want: Name{Container: "app", Pod: "web", Namespace: "ns", UID: "u1", Attempt: 4}},
		{name: "legacy hash field", in: "/k8s_app.1a2b3c_web_default_u1_0a1b2c3d",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Hash: 0x1a2b3c}},
		{name: "legacy hash with numeric attempt", in: "k8s_app.ff_web_default_u1_5",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Attempt: 5, Hash: 0xff}},
		{name: "legacy five fields, no attempt", in: "k8s_app.ff_web_default_u1",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Hash: 0xff}},
		{name: "extra trailing fields", in: "k8s_app_web_default_u1_3_extra_more",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1", Attempt: 3}},
		{name: "non-numeric attempt is attempt 0", in: "k8s_app_web_default_u1_deadbeef",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1"}},
		{name: "attempt beyond uint32 is attempt 0", in: "k8s_app_web_default_u1_4294967297",
			want: Name{Container: "app", Pod: "web", Namespace: "default", UID: "u1"}},
		{name: "pod name with dots keeps them", in: "k8s_app_web.v1_default_u1_1",
			want: Name{Container: "app", Pod: "web.v1", Namespace: "default", UID: "u1", Attempt: 1}},

		{name: "foreign prefix", in: "/mycontainer", wantErr: `does not start with "k8s_"`},
		{name: "prefix alone", in: "k8s", wantErr: `does not start with "k8s_"`},
		{name: "prefix as substring", in: "xk8s_app_web_default_u1_1", wantErr: "does not start with"},
		{name: "prefix differs in case", in: "K8S_app_web_default_u1_1", wantErr: "does not start with"},
		{name: "other namer's prefix", prefix: "dltkit", in: "k8s_app_web_default_u1_1", wantErr: `does not start with "dltkit_"`},
		{name: "empty", in: "", wantErr: "does not start with"},
		{name: "too few fields", in: "k8s_app_web_default", wantErr: "has 4 fields, want at least 5"},
		{name: "two fields", in: "k8s_app", wantErr: "has 2 fields"},
		{name: "empty container", in: "k8s__web_default_u1_1", wantErr: "empty field"},
		{name: "empty container before hash", in: "k8s_.ff_web_default_u1_1", wantErr: "empty field"},
		{name: "empty pod", in: "k8s_app__default_u1_1", wantErr: "empty field"},
		{name: "empty namespace", in: "k8s_app_web__u1_1", wantErr: "empty field"},
		{name: "empty uid", in: "k8s_app_web_default__1", wantErr: "empty field"},
		{name: "bad legacy hash", in: "k8s_app.xyz_web_default_u1_1", wantErr: `bad hash "xyz"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := New(tt.prefix).Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				if !errors.Is(err, ErrNotManaged) {
					t.Errorf("Parse(%q) error %v is not ErrNotManaged", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsManagedName(t *testing.T) {
	tests := []struct {
		prefix string
		in     string
		want   bool
	}{
		{"", "/k8s_app_web_default_u1_1", true},
		{"", "k8s_app_web_default_u1_1", true},
		{"", "/k8s", false},
		{"", "/k8sx_app", false},
		{"", "/my-redis", false},
		{"dltkit", "/dltkit_a_b_c_d_1", true},
		{"dltkit", "/k8s_a_b_c_d_1", false},
	}
	for _, tt := range tests {
		if got := New(tt.prefix).IsManagedName(tt.in); got != tt.want {
			t.Errorf("New(%q).IsManagedName(%q) = %v, want %v", tt.prefix, tt.in, got, tt.want)
		}
	}
}
