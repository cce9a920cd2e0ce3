"""wxflow: self-hosted face identity verification for the WeChat channel, FaceID-compatible."""
