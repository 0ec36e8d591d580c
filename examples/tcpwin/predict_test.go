package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCmdPredict(t *testing.T) {
	var out, errb bytes.Buffer
	code := cmdPredict([]string{"-rmem", "4096 87380 174760", "-rmem-max", "4194304", "-o", "json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct {
		WScale int `json:"wscale"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.WScale != 7 {
		t.Fatalf("%v %s", err, out.String())
	}
	if code := cmdPredict([]string{"-rmem", "x"}, &out, &errb); code != 2 {
		t.Fatalf("usage error: exit %d", code)
	}
}
