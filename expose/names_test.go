package expose

import "testing"

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Packets":                   "packets",
		"GoodOctetsRx":              "good_octets_rx",
		"RX":                        "rx",
		"LinkUp":                    "link_up",
		"IRQs":                      "irqs",
		"NICs":                      "nics",
		"NAPI":                      "napi",
		"HTTPServer":                "http_server",
		"CRCErrors":                 "crc_errors",
		"XONRx":                     "xon_rx",
		"Rx65To127":                 "rx_65_to_127",
		"Tx1024ToMax":               "tx_1024_to_max",
		"V4":                        "v4",
		"IPv4":                      "ipv4",
		"ICMPv6PacketsSent":         "icmpv6_packets_sent",
		"TCPs":                      "tcps",
		"Segments":                  "segments",
		"IPTablesPreroutingDropped": "ip_tables_prerouting_dropped",
		"PollPackets":               "poll_packets",
		"ActiveConnectionOpenings":  "active_connection_openings",
		"a":                         "a",
	} {
		if got := SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}
