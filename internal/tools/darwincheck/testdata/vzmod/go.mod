module example.com/vzmod

go 1.26.0

require github.com/Code-Hex/vz/v3 v3.7.1

require (
	github.com/Code-Hex/go-infinity-channel v1.0.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
