"""Geographic data imported into the database: OpenStreetMap extracts (`hotline geo import`)
become a jurisdiction's streets, corners, addresses, named places and neighbourhoods."""
