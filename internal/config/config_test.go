package config

import (
	"flag"
	"io"
	"testing"
)

func TestParseFlagsEnvDefaults(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(Config) bool
		wantErr bool
	}{
		{"defaults", nil, nil, func(c Config) bool { return c.Addr == "127.0.0.1:8080" && c.Data == "./junction-data" }, false},
		{"flag", []string{"--addr", ":9000"}, nil, func(c Config) bool { return c.Addr == ":9000" }, false},
		{"env", nil, map[string]string{"JUNCTION_ADDR": ":9001", "JUNCTION_MAX_BODY_BYTES": "2048"}, func(c Config) bool { return c.Addr == ":9001" && c.MaxBodyBytes == 2048 }, false},
		{"flag beats env", []string{"--addr", ":9002"}, map[string]string{"JUNCTION_ADDR": ":9001"}, func(c Config) bool { return c.Addr == ":9002" }, false},
		{"bad env value", nil, map[string]string{"JUNCTION_DEMO": "maybe"}, nil, true},
		{"bad validation", []string{"--validation", "lax"}, nil, nil, true},
		{"bad database", []string{"--database", "mysql://x"}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c := Defaults()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.ServeFlags(fs)
			err := c.Parse(fs, tt.args)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got config %+v", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Fatalf("unexpected config %+v", c)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("max-body-bytes"); got != "JUNCTION_MAX_BODY_BYTES" {
		t.Fatal(got)
	}
}
