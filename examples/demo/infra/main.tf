terraform {
  required_version = ">= 1.0"
}

variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "db_password" {
  type      = string
  sensitive = true
}

locals {
  tags = {
    service = "payments"
    owner   = "platform"
  }
}

resource "aws_security_group" "db" {
  name        = "payments-db"
  description = "Postgres from the app subnets only"

  ingress {
    from_port   = 5432
    to_port     = 5432
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/16"]
  }

  tags = local.tags
}

resource "aws_db_instance" "payments" {
  identifier             = "payments"
  engine                 = "postgres"
  engine_version         = "15.4"
  instance_class         = "db.t3.medium"
  allocated_storage      = 100
  username               = "payments"
  password               = var.db_password
  vpc_security_group_ids = [aws_security_group.db.id]
  deletion_protection    = true

  lifecycle {
    prevent_destroy = true
  }

  tags = local.tags
}

resource "aws_s3_bucket" "invoices" {
  bucket = "payments-invoices-${var.region}"
  tags   = local.tags
}

output "db_endpoint" {
  value = aws_db_instance.payments.endpoint
}

output "db_password" {
  value     = var.db_password
  sensitive = true
}

output "invoice_bucket" {
  value = aws_s3_bucket.invoices.bucket
}
