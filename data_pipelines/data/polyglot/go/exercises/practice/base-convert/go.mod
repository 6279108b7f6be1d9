module baseconvert

go 1.18
