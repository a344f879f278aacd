package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplydone/lab/stack"
)

const corpus = "../../tfimport/testdata/corpus"

func TestImportTerraformWritesTheStackAndListsWhatIsNotRehearsed(t *testing.T) {
	out := filepath.Join(t.TempDir(), "stack.yaml")
	code, _, errOut := runLab(t, "import", "terraform", filepath.Join(corpus, "flat"), "-o", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s, err := stack.Load(out)
	if err != nil {
		t.Fatalf("the written stack does not load: %v", err)
	}
	if s.Name != "shop" || len(s.ScalingPolicies) != 2 {
		t.Errorf("stack %s with %d policies; want shop with 2", s.Name, len(s.ScalingPolicies))
	}
	for _, w := range []string{"main.tf:295:1: not rehearsed: aws_wafv2_web_acl_association.shop", "Imported stack shop:", "Wrote stack shop to"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}

func TestImportCloudFormationToStdout(t *testing.T) {
	code, out, errOut := runLab(t, "import", "cloudformation", filepath.Join(corpus, "cloudformation", "shop.yaml"), "-var", "Env=staging")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := stack.Parse("stdout", []byte(out)); err != nil {
		t.Fatalf("stdout is not a stack: %v\n%s", err, out)
	}
	for _, w := range []string{"name: shop-staging", "max_size: 2", "instance_type: t3.small"} {
		if !strings.Contains(out, w) {
			t.Errorf("the stack lacks %q:\n%s", w, out)
		}
	}
}

func TestImportErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"import"},
		{"import", "pulumi", "x"},
		{"import", "terraform", filepath.Join(t.TempDir(), "missing")},
		{"import", "terraform", filepath.Join(corpus, "flat"), "-var", "nope=1"},
	} {
		if code, _, _ := runLab(t, args...); code != exitUsage {
			t.Errorf("lab %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
}

func TestPlanOnATerraformDirectory(t *testing.T) {
	code, out, errOut := runLab(t, "plan", "flash-sale", "--stack", filepath.Join(corpus, "modules"), "--var", "listener_port=8080")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Plan for flash-sale on stack shop-prod") {
		t.Errorf("the plan is not on the imported stack:\n%s", out)
	}
	if !strings.Contains(errOut, "Imported stack shop-prod:") {
		t.Errorf("the import's notes are not printed:\n%s", errOut)
	}
}

func TestAStackWithoutTheScenariosZoneIsRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "main.tf", `provider "aws" { region = "eu-west-1" }
resource "aws_lb" "this" { name = "shop" }
resource "aws_lb_target_group" "this" {
  port     = 8080
  protocol = "HTTP"
}
resource "aws_lb_listener" "this" {
  load_balancer_arn = aws_lb.this.arn
  port              = 8080
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}
resource "aws_autoscaling_group" "this" {
  min_size          = 1
  max_size          = 2
  target_group_arns = [aws_lb_target_group.this.arn]
}
`)
	code, _, errOut := runLab(t, "plan", "flash-sale", "--stack", dir)
	if code != exitUsage || !strings.Contains(errOut, "names zone us-east-1c, which stack shop does not have (eu-west-1a, eu-west-1b, eu-west-1c)") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 2 naming the missing zone", code, errOut)
	}
}

// TestRunOnATerraformDirectory rehearses a Terraform configuration
// directly: imported on the fly, run, judged. Half a minute of real load.
func TestRunOnATerraformDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("half a minute of real load")
	}
	dir := t.TempDir()
	tf := filepath.Join(dir, "tf")
	if err := os.Mkdir(tf, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, tf, "main.tf", `variable "port" { type = number }
resource "aws_subnet" "a" { availability_zone = "us-east-1a" }
resource "aws_subnet" "b" { availability_zone = "us-east-1b" }
resource "aws_lb" "this" { name = "tf-tier" }
resource "aws_lb_target_group" "this" {
  port     = var.port
  protocol = "HTTP"
  health_check {
    path                = "/health"
    interval            = 5
    timeout             = 2
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}
resource "aws_lb_listener" "this" {
  load_balancer_arn = aws_lb.this.arn
  port              = var.port
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}
resource "aws_launch_template" "this" {
  instance_type = "t3.micro"
  user_data     = base64encode("#!/bin/bash\ndocker run -d -p ${var.port}:${var.port} -e SIMPLYDONE_CPU_COST=1ms $IMAGE\n")
}
resource "aws_autoscaling_group" "this" {
  min_size            = 2
  max_size            = 2
  vpc_zone_identifier = [aws_subnet.a.id, aws_subnet.b.id]
  target_group_arns   = [aws_lb_target_group.this.arn]
  health_check_type   = "ELB"
  launch_template {
    id = aws_launch_template.this.id
  }
}
`)
	sc := write(t, dir, "steady.yaml", `name: steady-on-terraform
stack: simplydone
speed: 20
seed: 3
load:
  phases:
    - {name: steady, duration: 4m, rate: 10}
slos:
  - success_rate >= 99%
  - lost_writes == 0
`)
	runs := filepath.Join(dir, "runs")
	code, out, errOut := runLab(t, "run", sc, "--stack", tf, "--var", "port=18497", "--driver", "process", "--no-tui", "--out", runs)
	if code == exitInvalid {
		t.Skipf("INVALID: this host could not hold the load's schedule, so the run cannot be judged\n%s", out)
	}
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (PASS)\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "Imported stack tf-tier:") {
		t.Errorf("the import's notes are not printed first:\n%s", errOut)
	}
	if !strings.Contains(out, "PASS  steady-on-terraform on tf-tier") {
		t.Errorf("the run is not on the imported stack:\n%s", out)
	}
	entries, err := os.ReadDir(runs)
	if err != nil || len(entries) != 1 {
		t.Fatalf("run directories: %v %v", entries, err)
	}
	runDir := filepath.Join(runs, entries[0].Name())
	notes, err := os.ReadFile(filepath.Join(runDir, importNotesFile))
	if err != nil || !strings.Contains(string(notes), "main.tf:2:1: not rehearsed: aws_subnet.a") {
		t.Errorf("the run directory does not keep the import's notes: %v\n%s", err, notes)
	}
	st, err := os.ReadFile(filepath.Join(runDir, "stack.yaml"))
	if err != nil || !strings.Contains(string(st), "# main.tf:") {
		t.Errorf("the run directory's stack.yaml does not say where its values came from: %v\n%s", err, st)
	}
}
