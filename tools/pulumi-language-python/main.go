// Command pulumi-language-python is cwroles' Python language host for the Pulumi engine.
//
// Why it exists: the upstream host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// is not served by the Go module proxy this project can reach, while pkg/v3 and sdk/v3 are. This host is
// written for cwroles against the engine's LanguageRuntime gRPC protocol (sdk/v3/proto/go) and reuses the
// SDK's own Python toolchain package (sdk/v3/python/toolchain) to find the virtualenv. It implements what
// running Python programs and Python policy packs needs: Handshake, GetPluginInfo, GetRequiredPlugins,
// GetRequiredPackages, InstallDependencies (a no-op: `make setup` installs), About, GetProgramDependencies,
// Run (programs, through the SDK's pulumi-language-python-exec script) and RunPlugin (policy packs).
// Code generation, templates and packing are not implemented (they answer Unimplemented).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// The exit code a Python program uses to say "an error was already reported, just stop".
const bailExitCode = 32

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.String("root", "", "project root (accepted for compatibility; the engine sends it in each request)")
	flag.String("tracing", "", "tracing endpoint (ignored)")
	flag.Parse()
	if *showVersion {
		fmt.Println(version.Version)
		return
	}
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: pulumi-language-python [-version] <engine-address>")
		os.Exit(2)
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	h := &host{engine: flag.Arg(0), execScript: filepath.Join(filepath.Dir(self), "pulumi-language-python-exec")}
	go h.exitOnSignal()
	if _, err := os.Stat(h.execScript); err != nil {
		fatal(fmt.Errorf("missing executor %s: install it next to this binary", h.execScript))
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
	})
	if err != nil {
		fatal(err)
	}
	fmt.Printf("%d\n", handle.Port) // the engine reads the port from our first line of stdout
	if err := <-handle.Done; err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "pulumi-language-python: %v\n", err)
	os.Exit(1)
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engine     string
	execScript string

	mu       sync.Mutex
	programs map[*exec.Cmd]struct{} // running programs, each in its own process group
}

// exitOnSignal: the engine stops a language host by signalling its process group. A program that is
// still running then (the engine gave up on it, e.g. after a mandatory policy violation) is in a
// process group of its own, so it is killed here at once rather than left to hold our output pipes
// until the engine's grace period runs out.
func (h *host) exitOnSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	<-sigs
	h.mu.Lock()
	for cmd := range h.programs {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	h.mu.Unlock()
	os.Exit(1)
}

func (h *host) run(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h.mu.Lock()
	if h.programs == nil {
		h.programs = map[*exec.Cmd]struct{}{}
	}
	err := cmd.Start()
	if err == nil {
		h.programs[cmd] = struct{}{}
	}
	h.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() { h.mu.Lock(); delete(h.programs, cmd); h.mu.Unlock() }()
	return cmd.Wait()
}

func (h *host) Handshake(context.Context, *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// Dynamic providers run through the bundled pulumi-python plugin, so a program needs no other plugin.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	srv grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return err
	}
	if err := tc.ValidateVenv(srv.Context()); err != nil {
		return fmt.Errorf("the project's virtualenv is not ready (%w); run `make setup`", err)
	}
	return srv.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte("Python dependencies are installed by `make setup`.\n")})
}

// About is asked on every operation (for the update's metadata). The SDK's toolchain.About starts three
// Pythons for it, one of them `pip --version` (~0.2 s of CPU inside the engine's floor); one interpreter
// without site-packages (-I -S, ~10 ms) gives the same two answers the engine records.
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	cmd, err := tc.Command(ctx, "-I", "-S", "-c", aboutScript)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = nil
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("could not run the project's Python (%s): %w", cmd.Path, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return nil, fmt.Errorf("unexpected answer from the project's Python (%s): %q", cmd.Path, out)
	}
	return &pulumirpc.AboutResponse{Executable: lines[0], Version: lines[1]}, nil
}

// quickExit runs the SDK's executor script (argv[1]) as the program's __main__, and lets the interpreter end
// the way it normally does (the program's threads joined, its atexit handlers run) except for the last step:
// tearing down every module of pulumi, grpc and the program takes ~0.3 s of CPU, after the program has
// finished and before the engine may go on. Our handler is registered first, so it runs last.
const quickExit = `import atexit, os, runpy, sys
code = [1]
def _exit():
    sys.stdout.flush(); sys.stderr.flush(); os._exit(code[0])
atexit.register(_exit)
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as e:
    code[0] = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
    raise
code[0] = 0
`

const aboutScript = `import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])`

func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolve(req.GetInfo())
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	out := &pulumirpc.GetProgramDependenciesResponse{}
	for _, p := range pkgs {
		out.Dependencies = append(out.Dependencies, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return out, nil
}

// Run executes the program through the SDK's executor script, with the stack's config in the environment.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	tc, err := resolve(info)
	if err != nil {
		return nil, err
	}
	program := "."
	if info != nil {
		program = filepath.Join(info.GetProgramDirectory(), info.GetEntryPoint())
	}
	args := []string{"-u", "-c", quickExit, h.execScript,
		"--project", req.GetProject(), "--stack", req.GetStack(),
		"--parallel", fmt.Sprint(req.GetParallel()), "--dry_run", fmt.Sprint(req.GetDryRun()),
		"--pwd", req.GetPwd(), "--monitor", req.GetMonitorAddress(), "--engine", h.engine,
		"--organization", req.GetOrganization()}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root_directory", info.GetRootDirectory())
	}
	args = append(args, program)
	args = append(args, req.GetArgs()...)
	cmd, err := tc.Command(ctx, args...)
	if err != nil {
		return nil, err
	}
	cfg := req.GetConfig()
	if cfg == nil {
		cfg = map[string]string{} // the executor wants a JSON object, not null
	}
	config, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(nonNil(req.GetConfigSecretKeys()))
	if err != nil {
		return nil, err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	cmd.Dir = req.GetPwd()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := h.run(cmd); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == bailExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err)}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// RunPlugin starts a Python policy pack (`python -u -m pulumi.policy <engine> .` in the pack directory)
// and streams its output back to the engine, which reads the analyzer's port from it.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, srv grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	if req.GetKind() != "analyzer" {
		return status.Errorf(codes.Unimplemented, "this host runs Python policy packs only, not %q plugins", req.GetKind())
	}
	info := req.GetInfo()
	tc, err := resolve(info)
	if err != nil {
		return err
	}
	args := append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...)
	args = append(args, ".")
	cmd, err := tc.Command(srv.Context(), args...)
	if err != nil {
		return err
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Dir = info.GetProgramDirectory()
	var mu sync.Mutex // grpc streams are not safe for concurrent Send
	send := func(r *pulumirpc.RunPluginResponse) error { mu.Lock(); defer mu.Unlock(); return srv.Send(r) }
	cmd.Stdout = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	})
	cmd.Stderr = streamWriter(func(b []byte) error {
		return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	})
	code := int32(0)
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = int32(exitErr.ExitCode())
	}
	return send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

type streamWriter func([]byte) error

func (w streamWriter) Write(p []byte) (int, error) {
	b := append([]byte(nil), p...) // the caller reuses p
	if err := w(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

var _ io.Writer = streamWriter(nil)

// resolve finds the Python toolchain from the runtime options in Pulumi.yaml / PulumiPolicy.yaml
// (`virtualenv` is relative to the directory holding that file).
func resolve(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip}
	if info == nil {
		return toolchain.ResolveToolchain(opts)
	}
	opts.Root, opts.ProgramDir = info.GetRootDirectory(), info.GetProgramDirectory()
	fields := map[string]*structpb.Value{}
	if info.GetOptions() != nil {
		fields = info.GetOptions().GetFields()
	}
	if v, ok := fields["virtualenv"]; ok {
		opts.Virtualenv = v.GetStringValue()
	}
	if v, ok := fields["toolchain"]; ok {
		switch v.GetStringValue() {
		case "", "pip":
		case "uv":
			opts.Toolchain = toolchain.Uv
		case "poetry":
			opts.Toolchain = toolchain.Poetry
		default:
			return nil, fmt.Errorf("unknown Python toolchain %q (use pip, uv or poetry)", v.GetStringValue())
		}
	}
	return toolchain.ResolveToolchain(opts)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
