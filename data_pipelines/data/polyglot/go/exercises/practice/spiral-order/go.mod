module spiralorder

go 1.18
