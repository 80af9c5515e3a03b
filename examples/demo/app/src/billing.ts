export interface LineItem {
  sku: string;
  unitPriceCents: number;
  quantity: number;
}

/** Sum of a month's line items, in cents. */
export function monthly_total_cents(items: LineItem[]): number {
  return items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0);
}

export function formatCents(cents: number): string {
  return `€${(cents / 100).toFixed(2)}`;
}
