// Package inet is the Internet protocols' arithmetic that drivers, device
// models and protocol clients share: the one's complement sum of RFC 1071
// (IP, TCP and UDP checksums), the broadcast address of an IPv4
// prefix and the check of a domain name. It imports nothing of tamanet's, so any layer may use it.
package inet
