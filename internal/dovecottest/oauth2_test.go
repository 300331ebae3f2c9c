package dovecottest

import (
	"strings"
	"testing"
)

func TestOAuth2Config(t *testing.T) {
	o := &OAuth2{IntrospectionURL: "http://127.0.0.1:8080/introspect", IntrospectionUser: "dovecot", IntrospectionPassword: "p@ss",
		ActiveAttribute: "active", ActiveValue: "true", AuthCacheSize: "1M"}
	cfg := Config{OAuth2: o}
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	for _, bad := range []*OAuth2{
		{IntrospectionURL: "ftp://x/introspect"},
		{IntrospectionURL: "http://x/i", UsernameAttribute: "user\nname"},
		{IntrospectionURL: "http://x/i", AuthCacheSize: "lots"},
	} {
		if err := (Config{OAuth2: bad}).validate(); err == nil {
			t.Errorf("validate(%+v): no error", bad)
		}
	}
	l := layout{passwdPath: "/tmp/x/passwd", oauth2Path: "/tmp/x/" + oauth2ConfName}
	tests := []struct {
		v         dovecotVersion
		want, not []string
	}{
		{dovecotVersion{2, 3}, []string{"auth_mechanisms = plain login xoauth2 oauthbearer", "  mechanisms = plain login", "  driver = oauth2",
			"  mechanisms = xoauth2 oauthbearer", "  args = /tmp/x/" + oauth2ConfName, "auth_cache_size = 1M"}, []string{"oauth2_introspection_url"}},
		{dovecotVersion{2, 4}, []string{"auth_mechanisms = plain login xoauth2 oauthbearer", "oauth2_introspection_mode = post",
			`oauth2_introspection_url = "http://dovecot:p%40ss@127.0.0.1:8080/introspect"`, "oauth2_active_attribute = active"}, []string{"driver = oauth2"}},
	}
	for _, tt := range tests {
		text := configText(tt.v, cfg, l)
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("%v: config lacks %q:\n%s", tt.v, w, text)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(text, n) {
				t.Errorf("%v: config has %q", tt.v, n)
			}
		}
	}
	ext := o.oauth2Ext()
	for _, w := range []string{"introspection_mode = post", "introspection_url = http://dovecot:p%40ss@127.0.0.1:8080/introspect",
		"username_attribute = username", "active_attribute = active", "active_value = true"} {
		if !strings.Contains(ext, w) {
			t.Errorf("%s lacks %q:\n%s", oauth2ConfName, w, ext)
		}
	}
	if text := configText(dovecotVersion{2, 3}, Config{}, l); strings.Contains(text, "oauth") || !strings.Contains(text, "auth_mechanisms = plain login\n") {
		t.Errorf("config without OAuth2 changed:\n%s", text)
	}
}
