package function

// Exported for the tests of package function_test.
var (
	LogHandler = logHandler
	Report     = report
)
