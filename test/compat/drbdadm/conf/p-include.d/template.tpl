common { net { protocol A; } }
