package motoserver

import "syscall"

// setParentDeathSignal makes Linux kill moto when the test binary dies
// without stopping it (a timeout panic, a test that forgot Main).
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
