package tfimport

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// watchdog crashes the fuzz worker when one input takes over 10 s, so the
// fuzzer keeps the input that hangs; call the function it returns when done.
func watchdog() func() {
	t := time.AfterFunc(10*time.Second, func() { panic("tfimport: one input took over 10s") })
	return func() { t.Stop() }
}

// FuzzTerraform: whatever main.tf holds, the import returns a stack or an
// error; it never panics nor hangs.
func FuzzTerraform(f *testing.F) {
	for _, p := range []string{"testdata/corpus/flat/main.tf", "testdata/corpus/count/main.tf", "testdata/corpus/modules/main.tf"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(tier))
	f.Add([]byte("locals {\n a = local.b\n b = local.a\n}\n"))
	f.Add([]byte("resource \"x\" \"y\" {\n dynamic \"z\" {\n for_each = [1,2]\n content { v = z.value }\n }\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog()()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Terraform(dir, Options{})
		if err == nil && r.Stack == nil {
			t.Fatal("no error and no stack")
		}
	})
}

// FuzzCloudFormation: the same for a template.
func FuzzCloudFormation(f *testing.F) {
	if data, err := os.ReadFile("testdata/corpus/cloudformation/shop.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("Resources:\n  A:\n    Type: AWS::AutoScaling::AutoScalingGroup\n    Properties: {MinSize: !Select [9, !GetAZs \"\"]}\n"))
	f.Add([]byte("Conditions:\n  A: !Condition B\n  B: !Condition A\nResources:\n  X:\n    Type: T\n    Condition: A\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog()()
		path := filepath.Join(t.TempDir(), "t.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := CloudFormation(path, Options{})
		if err == nil && r.Stack == nil {
			t.Fatal("no error and no stack")
		}
	})
}
