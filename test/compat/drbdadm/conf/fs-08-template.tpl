# defaults for all resources using this template
common {
net { protocol B; max-buffers 4096; } # throughput tuning
disk { on-io-error detach; resync-rate 100M; }
startup { wfc-timeout 0; }
}
