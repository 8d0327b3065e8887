package motoserver

// PID returns the server's process id, for tests that check it is gone.
func PID(s *Server) (int, bool) {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0, false
	}
	return s.cmd.Process.Pid, true
}
